// The child's chat page (/chat): choose who to chat with, wait with a visible place in the
// queue, talk, end, and the optional two-question survey. No account and no cookie: the chat's
// token lives in sessionStorage (this tab only) so that a reload or a network blip resumes the
// same conversation. Quick exit (button or Esc) clears all of it and leaves with
// location.replace, so Back does not return here. Every text is set as text, never as HTML.
import { h, setText, show } from "../el";
import { initI18n, lang, LANG_KEY, LANGUAGES, onLanguageChanged, setLang, t, tr } from "./i18n";
import { ChildSocket, type Link, type ServerEvent, type WireMessage } from "./socket";
import { buildSurvey } from "./survey";

const TOKEN_KEY = "helpline.chat";
const DEFAULT_EXIT = "https://www.google.nl";
const DEFAULT_MAX_CHARS = 2000;
const TYPING_EVERY_MS = 2500;
const TYPING_SHOWN_MS = 6000;

interface ChatStatus {
  open: boolean;
  opens_at?: string | number | null;
  peer_open?: boolean;
  forum_url?: string;
  emergency?: string;
  quick_exit_url?: string;
  languages?: string[];
  survey?: boolean;
  max_message_chars?: number;
}

interface Boot {
  quick_exit_url?: string;
  forum_url?: string;
}

type Phase = "start" | "starting" | "waiting" | "talking" | "ended";

interface Line {
  seq: number | null;
  from: "child" | "volunteer" | "system";
  text: string;
  clientId: string | null;
  state: "sending" | "sent" | "delivered" | "read" | "failed" | null;
  el: HTMLLIElement;
  stateEl: HTMLElement | null;
}

class ApiRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

function readBoot(): Boot {
  try {
    return JSON.parse(document.getElementById("boot")?.textContent ?? "{}") as Boot;
  } catch {
    return {};
  }
}

function safeUrl(raw: string | undefined, fallback: string): string {
  // Only a web address leaves this page: never javascript: or data: from anywhere.
  try {
    const url = new URL(raw ?? "", location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : fallback;
  } catch {
    return fallback;
  }
}

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token !== undefined) headers["X-Chat-Token"] = token;
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiRefused(0, "network");
  }
  let data: Record<string, unknown> = {};
  try {
    data = (await resp.json()) as Record<string, unknown>;
  } catch {
    data = {};
  }
  if (!resp.ok) {
    const code = typeof data.error === "string" ? data.error : typeof data.code === "string" ? data.code : `http_${resp.status}`;
    throw new ApiRefused(resp.status, code);
  }
  return data as T;
}

function when(at: string | number): string {
  const date = typeof at === "number" ? new Date(at * 1000) : new Date(at);
  if (Number.isNaN(date.getTime())) return "";
  const locale = lang() === "en" ? "en-GB" : "nl-NL";
  const sameDay = date.toDateString() === new Date().toDateString();
  return date.toLocaleString(locale, sameDay ? { hour: "2-digit", minute: "2-digit" } : { weekday: "long", hour: "2-digit", minute: "2-digit" });
}

async function main(): Promise<void> {
  await initI18n();
  const boot = readBoot();
  const root = document.getElementById("chat-app") as HTMLElement;
  let status: ChatStatus | null = null;
  let phase: Phase = "start";
  let token: string | null = null;
  let socket: ChildSocket | null = null;
  let joinedOnce = false;
  let lines: Line[] = [];
  let lastReadSent = 0;
  let readByVolunteer = 0;
  let lastTypingSent = 0;
  let typingTimer: number | null = null;
  let clientSeq = 0;
  let endedBy: string | null = null;
  let queueNotices = 0;
  const exitUrl = () => safeUrl(status?.quick_exit_url ?? boot.quick_exit_url, DEFAULT_EXIT);
  const forumUrl = () => safeUrl(status?.forum_url ?? boot.forum_url, "https://www.kindertelefoon.nl/forum");
  const maxChars = () => status?.max_message_chars ?? DEFAULT_MAX_CHARS;

  // --- Quick exit: first in the page and in the tab order, always visible. ---
  const exit = h("button", { type: "button", class: "quick-exit", "aria-describedby": "quick-exit-hint" });
  tr(exit, "quickExit");
  const exitHint = tr(h("span", { id: "quick-exit-hint", class: "visually-hidden" }), "quickExitHint");
  exit.addEventListener("click", () => quickExit());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.isComposing) {
      event.preventDefault();
      quickExit();
    }
  });

  function quickExit(): void {
    // Leaving the queue or the chat is the child's "end": said if the socket is open, and
    // otherwise the grace period ends it.
    socket?.send({ type: "end" });
    socket?.stop();
    socket = null;
    const url = exitUrl();
    try {
      storage()?.clear();
    } catch {
      // nothing stored, or storage is off
    }
    token = null;
    lines = [];
    root.replaceChildren();
    document.title = "";
    // replace: this page's history entry becomes the neutral site, so Back does not return.
    location.replace(url);
  }

  const langButtons = LANGUAGES.map((code) => {
    // Short on a phone's width; the full name is read out after it.
    const button = h(
      "button",
      { type: "button", class: "lang", lang: code, "aria-pressed": String(code === lang()) },
      code.toUpperCase(),
      h("span", { class: "visually-hidden" }, code === "nl" ? " Nederlands" : " English"),
    );
    button.addEventListener("click", () => void setLang(code));
    return button;
  });
  const langGroup = tr(h("div", { class: "lang-switch", role: "group" }, ...langButtons), "language", undefined, "aria-label");
  const brand = tr(h("span", { class: "brand" }), "helpline");
  // First in the document (and so the first Tab stop), shown at the right end of the bar.
  const header = h("header", { class: "top" }, exit, exitHint, brand, langGroup);

  // --- Start: who to chat with, or closed. ---
  const heading = tr(h("h1", { id: "chat-heading", tabindex: -1 }), "heading");
  const intro = tr(h("p", { class: "intro" }), "intro");
  const loading = tr(h("p", { class: "muted", role: "status" }), "loading");
  const unavailable = h("div", { class: "box box-warn", hidden: true });
  const retry = tr(h("button", { type: "button", class: "btn" }), "retry");
  retry.addEventListener("click", () => void loadStatus());
  unavailable.append(tr(h("p", {}), "unavailable"), retry);
  const closedText = tr(h("p", { class: "strong" }), "closed");
  const opensAt = h("p", {});
  const closed = h("div", { class: "box", hidden: true }, closedText, opensAt);
  const chooseHeading = tr(h("h2", { id: "choose-heading" }), "choose");
  const kindButton = (kind: "chat" | "peer") => {
    const button = h(
      "button",
      { type: "button", class: "choice", "data-kind": kind },
      tr(h("span", { class: "choice-title" }), `kind_${kind}`),
      tr(h("span", { class: "choice-hint" }), `kind_${kind}Hint`),
    );
    button.addEventListener("click", () => void startChat(kind));
    return button;
  };
  const chooseChat = kindButton("chat");
  const choosePeer = kindButton("peer");
  const peerClosed = tr(h("p", { class: "muted", hidden: true }), "peerClosed");
  const startError = h("p", { class: "alert", role: "alert", hidden: true });
  const choose = h("section", { class: "choose", "aria-labelledby": "choose-heading", hidden: true }, chooseHeading, chooseChat, choosePeer, peerClosed);
  const helpBox = () => {
    const forum = h("a", { class: "link-forum", href: forumUrl(), rel: "noreferrer noopener", target: "_self" });
    tr(forum, "forum");
    onLanguageChanged(() => forum.setAttribute("href", forumUrl()));
    const emergency = h("a", { class: "link-112", href: "tel:112" });
    tr(emergency, "emergencyLink");
    return {
      el: h("div", { class: "help" }, tr(h("p", {}), "forumText"), forum, tr(h("p", { class: "emergency" }), "emergency"), emergency),
      refresh: () => forum.setAttribute("href", forumUrl()),
    };
  };
  const startHelp = helpBox();
  const startView = h("section", { class: "view view-start" }, intro, loading, unavailable, closed, choose, startError, startHelp.el);

  // --- The conversation: waiting, then talking. ---
  const waitHeading = tr(h("h2", {}), "waitingHeading");
  const position = h("p", { class: "position" });
  const waitLine = h("p", {});
  const waitBox = h(
    "div",
    { class: "waiting", hidden: true },
    waitHeading,
    h("div", { class: "waiting-status", role: "status", "aria-live": "polite" }, position, waitLine),
    h("div", { class: "dots", "aria-hidden": "true" }, h("span"), h("span"), h("span")),
    tr(h("p", { class: "muted" }), "waitingCalm"),
  );
  const talkHeading = tr(h("h2", { class: "visually-hidden" }), "conversation");
  // A list inside the live region: role="log" on the list itself would take its list away.
  const log = h("ol", { class: "log-list" });
  const logBox = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: 0, hidden: true }, log);
  tr(logBox, "conversation", undefined, "aria-label");
  const typing = tr(h("p", { class: "typing", hidden: true, "aria-live": "polite" }), "typing");
  const linkNote = tr(h("p", { class: "link-note", role: "status", hidden: true }), "reconnecting");
  const composer = h("textarea", { id: "composer", name: "text", rows: 2, autocomplete: "off", enterkeyhint: "send", "aria-describedby": "composer-error composer-count" });
  const count = h("span", { id: "composer-count", class: "count", hidden: true });
  const send = tr(h("button", { type: "submit", class: "btn btn-primary send" }), "send");
  const sendError = h("p", { id: "composer-error", class: "alert", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "composer", hidden: true, novalidate: true },
    h("div", { class: "composer-head" }, tr(h("label", { for: "composer" }), "composer"), count),
    h("div", { class: "composer-row" }, composer, send),
    sendError,
  );
  const endButton = tr(h("button", { type: "button", class: "btn btn-quiet end" }), "end");
  const endSure = tr(h("p", { class: "strong" }), "endSure");
  const endYes = tr(h("button", { type: "button", class: "btn btn-stop" }), "endYes");
  const endNo = tr(h("button", { type: "button", class: "btn" }), "endNo");
  const confirmBox = h("div", { class: "confirm", hidden: true }, endSure, h("div", { class: "row" }, endYes, endNo));
  const endBox = h("div", { class: "end-box" }, endButton, confirmBox);
  const talkView = h("section", { class: "view view-talk", hidden: true, "aria-labelledby": "chat-heading" }, talkHeading, waitBox, logBox, typing, linkNote, form, endBox);

  // --- After the chat. ---
  const endedText = h("p", { class: "ended-text", role: "status" });
  const thanks = tr(h("p", {}), "thanks");
  const survey = buildSurvey({
    // The survey is the token's last use: forgotten once it is answered or skipped.
    token: () => token,
    send: (body, chatToken) => call("POST", "/api/v1/chat/survey", body, chatToken),
    closed: (skipped) => {
      token = null;
      if (skipped) again.focus();
    },
  });
  const again = tr(h("button", { type: "button", class: "btn" }), "newChat");
  again.addEventListener("click", () => reset());
  const endedHelp = helpBox();
  const endedView = h("section", { class: "view view-ended", hidden: true }, endedText, thanks, survey.el, endedHelp.el, again);

  const mainEl = h("main", { id: "chat-main", class: "page" }, heading, startView, talkView, endedView);
  root.replaceChildren(header, mainEl);
  onLanguageChanged(() => {
    for (const button of langButtons) button.setAttribute("aria-pressed", String(button.lang === lang()));
    document.title = t("title");
    render();
  });
  document.title = t("title");

  // For the browser tests: read-only facts about the page, nothing about the child.
  (window as unknown as { helplineChat: unknown }).helplineChat = {
    status: () => ({ phase, link: socket?.isOpen ?? false, messages: lines.length, endedBy, queueNotices }),
  };

  function render(): void {
    mainEl.dataset.phase = phase;
    show(startView, phase === "start" || phase === "starting");
    // The page's heading is read out everywhere but shown only at the start (a phone's
    // height belongs to the conversation).
    heading.classList.toggle("heading-quiet", phase !== "start" && phase !== "starting");
    show(talkView, phase === "waiting" || phase === "talking");
    show(endedView, phase === "ended");
    show(waitBox, phase === "waiting");
    show(form, phase === "talking");
    const open = status?.open === true;
    show(loading, status === null && unavailable.hidden === true);
    show(closed, status !== null && !open);
    show(choose, status !== null && open);
    chooseChat.disabled = phase === "starting";
    const peerOpen = status?.peer_open !== false;
    choosePeer.disabled = phase === "starting" || !peerOpen;
    show(peerClosed, !peerOpen);
    setText(opensAt, status?.opens_at ? t("opensAt", { time: when(status.opens_at) }) : "");
    show(opensAt, Boolean(status?.opens_at));
    startHelp.refresh();
    endedHelp.refresh();
    if (phase === "ended") {
      const key = endedBy === null ? "ended" : `ended_${endedBy}`;
      setText(endedText, t(key, { defaultValue: t("ended") }));
      show(survey.el, status?.survey !== false && token !== null && survey.pending());
      show(thanks, endedBy !== "blocked" && endedBy !== "gone");
    }
    updateCount();
  }

  // --- Status ---
  async function loadStatus(): Promise<void> {
    show(unavailable, false);
    show(loading, true);
    try {
      status = await call<ChatStatus>("GET", `/api/v1/chat/status?lang=${lang()}`);
    } catch {
      status = null;
      show(loading, false);
      show(unavailable, true);
    }
    render();
  }

  async function reachable(): Promise<boolean> {
    try {
      await call<ChatStatus>("GET", `/api/v1/chat/status?lang=${lang()}`);
      return true;
    } catch (exc) {
      return exc instanceof ApiRefused && exc.status !== 0 && exc.status < 500;
    }
  }

  // --- Starting and resuming ---
  async function startChat(kind: "chat" | "peer"): Promise<void> {
    if (phase !== "start") return;
    phase = "starting";
    show(startError, false);
    render();
    try {
      const result = await call<{ token: string; position?: number; wait_s?: number | null }>("POST", "/api/v1/chat", { kind, language: lang() });
      token = result.token;
      storage()?.setItem(TOKEN_KEY, JSON.stringify({ token }));
      phase = "waiting";
      showQueue(result.position ?? null, result.wait_s ?? null);
      connect();
      render();
      heading.focus();
    } catch (exc) {
      phase = "start";
      const code = exc instanceof ApiRefused ? (exc.status === 429 ? "queue_full" : exc.status === 409 ? "closed" : exc.code) : "network";
      startError.textContent = t(`err.${code}`, { defaultValue: t("err.network") });
      show(startError, true);
      if (code === "closed") void loadStatus();
      render();
    }
  }

  function connect(): void {
    if (token === null) return;
    socket?.stop();
    socket = new ChildSocket(token, { event: onEvent, link: onLink, gone: (reason) => finish(reason) }, reachable);
    socket.start();
  }

  function onLink(state: Link): void {
    show(linkNote, state === "reconnecting" && (phase === "talking" || phase === "waiting"));
    send.disabled = state !== "open";
  }

  function showQueue(pos: number | null | undefined, waitS: number | null | undefined): void {
    setText(position, pos === null || pos === undefined ? "" : pos <= 1 ? t("positionFirst") : t("position", { position: pos }));
    let wait: string;
    if (waitS === null || waitS === undefined) wait = t("waitUnknown");
    else if (waitS < 60) wait = t("waitSoon");
    else wait = t("waitMinutes", { count: Math.round(waitS / 60) });
    setText(waitLine, wait);
  }

  function onEvent(event: ServerEvent): void {
    switch (event.type) {
      case "hello": {
        const before = lines.filter((l) => l.from === "child" && l.seq === null && l.state !== "failed");
        const known = new Set(lines.filter((l) => l.seq !== null).map((l) => l.seq));
        const highest = Math.max(0, ...[...known].map((s) => s ?? 0));
        replaceTranscript(event.messages ?? []);
        readByVolunteer = Math.max(readByVolunteer, event.read ?? 0);
        // Messages typed while the link was down: sent again unless the server has them.
        const arrived = (event.messages ?? []).filter((m) => m.from === "child" && m.seq > highest).map((m) => m.text);
        for (const line of before) {
          const i = arrived.indexOf(line.text);
          if (i >= 0) arrived.splice(i, 1);
          else queueAgain(line.text);
        }
        if (event.state === "talking") {
          if (phase !== "talking") joinedOnce = true;
          phase = "talking";
        } else {
          phase = "waiting";
          showQueue(event.position, event.wait_s);
        }
        markRead();
        sendRead();
        render();
        break;
      }
      case "queue":
        queueNotices += 1;
        if (phase === "waiting") showQueue(event.position, event.wait_s);
        break;
      case "joined":
        addLine({ seq: null, from: "system", text: t(joinedOnce ? "joinedAgain" : "joined") });
        joinedOnce = true;
        phase = "talking";
        render();
        composer.focus();
        break;
      case "msg":
        if (lines.some((l) => l.seq === event.seq)) break;
        addLine({ seq: event.seq, from: event.from, text: event.text });
        if (event.from === "volunteer") {
          hideTyping();
          sendRead();
        }
        break;
      case "typing":
        show(typing, true);
        if (typingTimer !== null) window.clearTimeout(typingTimer);
        typingTimer = window.setTimeout(hideTyping, TYPING_SHOWN_MS);
        break;
      case "sent": {
        const line = lines.find((l) => l.clientId === event.client_id);
        if (line !== undefined) {
          line.seq = event.seq;
          setState(line, event.seq <= readByVolunteer ? "read" : event.delivered === true ? "delivered" : "sent");
        }
        break;
      }
      case "read":
        readByVolunteer = Math.max(readByVolunteer, event.seq);
        markRead();
        break;
      case "ended":
        finish(event.by);
        break;
      case "error":
        onError(event.code, event.client_id);
        break;
      default:
        break;
    }
  }

  function onError(code: string, clientId: string | null | undefined): void {
    // Refused sockets say why before they close (the close says the rest).
    if (code === "blocked" || code === "unknown_chat" || code === "unavailable") return;
    if (typeof clientId === "string") {
      const line = lines.find((l) => l.clientId === clientId);
      if (line !== undefined && code === "too_long") {
        // Sending it again would not help: it goes back into the composer to be shortened.
        line.el.remove();
        lines = lines.filter((l) => l !== line);
        if (composer.value.trim() === "") composer.value = line.text;
        updateCount();
      } else if (line !== undefined) setState(line, "failed");
    } else if (code === "rate_limited") {
      // Too many frames: the server closes this socket. What it did not confirm is not sent
      // again by itself (that would flood again); the child can send it again.
      for (const line of lines) if (line.state === "sending") setState(line, "failed");
    }
    say(t(`err.${code}`, { defaultValue: t("err.bad_request") }));
    logBox.scrollTop = logBox.scrollHeight; // the refused message in view
  }

  function say(text: string | null): void {
    sendError.textContent = text ?? "";
    show(sendError, text !== null);
  }

  function finish(by: string): void {
    endedBy = by;
    socket?.stop();
    socket = null;
    phase = "ended";
    hideTyping();
    show(linkNote, false);
    storage()?.removeItem(TOKEN_KEY);
    if (by === "blocked" || by === "gone") token = null; // nothing more to say with it
    survey.reset();
    render();
    endedText.focus();
  }

  function reset(): void {
    token = null;
    lines = [];
    log.replaceChildren();
    show(logBox, false);
    joinedOnce = false;
    endedBy = null;
    lastReadSent = 0;
    readByVolunteer = 0;
    phase = "start";
    say(null);
    show(startError, false);
    void loadStatus();
    render();
    heading.focus();
  }

  // --- The transcript ---
  function replaceTranscript(messages: WireMessage[]): void {
    const pending = lines.filter((l) => l.seq === null && l.from === "child");
    for (const line of pending) line.el.remove();
    lines = lines.filter((l) => l.seq === null && l.from === "system");
    log.replaceChildren(...lines.map((l) => l.el));
    for (const message of [...messages].sort((a, b) => a.seq - b.seq)) {
      addLine({ seq: message.seq, from: message.from, text: message.text });
    }
  }

  function addLine(spec: { seq: number | null; from: Line["from"]; text: string; clientId?: string }): Line {
    const nearBottom = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 80;
    const who = spec.from === "child" ? t("you") : spec.from === "volunteer" ? t("volunteer") : t("system");
    const el = h("li", { class: `msg msg-${spec.from}` }, h("span", { class: "visually-hidden" }, `${who}: `));
    const text = h("p", { class: "msg-text" });
    text.textContent = spec.text; // text, never HTML
    el.append(text);
    let stateEl: HTMLElement | null = null;
    if (spec.from === "child") {
      stateEl = h("span", { class: "msg-state" });
      el.append(stateEl);
    }
    log.append(el);
    const line: Line = { seq: spec.seq, from: spec.from, text: spec.text, clientId: spec.clientId ?? null, state: null, el, stateEl };
    lines.push(line);
    if (spec.from === "child") setState(line, spec.seq === null ? "sending" : spec.seq <= readByVolunteer ? "read" : "sent");
    show(logBox, true);
    if (nearBottom || spec.from === "child") logBox.scrollTop = logBox.scrollHeight;
    return line;
  }

  function setState(line: Line, state: NonNullable<Line["state"]>): void {
    line.state = state;
    const el = line.stateEl;
    if (el === null) return;
    el.dataset.state = state;
    const mark = state === "read" || state === "delivered" ? "✓✓ " : state === "sent" ? "✓ " : "";
    el.replaceChildren(h("span", { "aria-hidden": "true" }, mark), t(state));
    if (state === "failed") {
      const again = h("button", { type: "button", class: "btn-link" }, t("resend"));
      again.addEventListener("click", () => {
        line.el.remove();
        lines = lines.filter((l) => l !== line);
        queueAgain(line.text);
      });
      el.append(" · ", again);
    }
  }

  function markRead(): void {
    for (const line of lines) {
      if (line.from === "child" && line.seq !== null && line.seq <= readByVolunteer && line.state !== "read") setState(line, "read");
    }
  }

  function sendRead(): void {
    if (document.visibilityState !== "visible") return;
    let highest = 0;
    for (const line of lines) if (line.from === "volunteer" && line.seq !== null) highest = Math.max(highest, line.seq);
    if (highest > lastReadSent && socket?.send({ type: "read", seq: highest })) lastReadSent = highest;
  }
  document.addEventListener("visibilitychange", sendRead);

  function hideTyping(): void {
    if (typingTimer !== null) window.clearTimeout(typingTimer);
    typingTimer = null;
    show(typing, false);
  }

  // --- Sending ---
  function queueAgain(text: string): void {
    clientSeq += 1;
    const clientId = `c${Date.now().toString(36)}${clientSeq}`;
    const line = addLine({ seq: null, from: "child", text, clientId });
    if (!socket?.send({ type: "msg", client_id: clientId, text })) {
      // Not open now: sent when the socket is back (see "hello").
      setState(line, "sending");
    }
  }

  function updateCount(): void {
    const over = [...composer.value].length - maxChars();
    show(count, over > 0);
    setText(count, over > 0 ? t("tooLongCount", { count: over }) : "");
    composer.setAttribute("aria-invalid", String(over > 0));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = composer.value.trim();
    if (text === "") {
      say(t("err.empty"));
      return;
    }
    if ([...text].length > maxChars()) {
      say(t("err.too_long"));
      return;
    }
    say(null);
    queueAgain(text);
    composer.value = "";
    updateCount();
    composer.focus();
  });
  composer.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a new line (as in every chat app).
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  composer.addEventListener("input", () => {
    updateCount();
    if (!sendError.hidden && [...composer.value].length <= maxChars()) say(null);
    const now = Date.now();
    if (composer.value !== "" && now - lastTypingSent > TYPING_EVERY_MS && socket?.send({ type: "typing" })) lastTypingSent = now;
  });

  // --- Ending ---
  endButton.addEventListener("click", () => {
    show(endButton, false);
    show(confirmBox, true);
    endNo.focus();
  });
  endNo.addEventListener("click", () => {
    show(confirmBox, false);
    show(endButton, true);
    endButton.focus();
  });
  endYes.addEventListener("click", () => {
    show(confirmBox, false);
    show(endButton, true);
    if (!socket?.send({ type: "end" })) {
      // No link now: the server ends it when the grace period is over; the page is done.
      finish("child");
      return;
    }
    // The server answers with "ended" (by: child).
    endYes.disabled = true;
    window.setTimeout(() => {
      endYes.disabled = false;
      if (phase !== "ended") finish("child");
    }, 3000);
  });

  // --- Boot: resume a chat this tab holds, else show the choice. ---
  let saved: string | null = null;
  try {
    const raw = storage()?.getItem(TOKEN_KEY) ?? null;
    saved = raw === null ? null : ((JSON.parse(raw) as { token?: string }).token ?? null);
  } catch {
    saved = null;
  }
  render();
  void loadStatus();
  if (saved !== null) {
    token = saved;
    phase = "waiting";
    setText(position, t("resuming"));
    setText(waitLine, "");
    connect();
    render();
  }
  // Keep the language for the rest of this tab (the quick exit clears it).
  if (storage()?.getItem(LANG_KEY) === null) storage()?.setItem(LANG_KEY, lang());
}

void main();
