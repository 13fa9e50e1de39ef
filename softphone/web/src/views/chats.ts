// The volunteer's chats beside the phone: a chat offer (accept or decline), then one tab per
// chat held (up to the ACD's max_chats) with its transcript, the composer with the helpline's
// canned texts (inserted, editable before sending), "the child is typing", read state, ending
// (optionally blocking an abusive chat) and a warm hand-over with a note. An ended chat keeps
// its tab for its registration. Every text is set as text, never as HTML.
import { ApiError } from "../api";
import { type CannedText, type ChatClient } from "../chats";
import { h, id, setText, show, tr } from "../dom";
import { categoryLabel, lang, onLanguageChanged, t } from "../i18n";
import { duration } from "../format";
import { changed, chatOffer, serverNow, state, type ChatLine, type ChatTab } from "../store";
import { registrationForm } from "./regform";

const TYPING_EVERY_MS = 2500;

export interface ChatsPanel {
  el: HTMLElement;
  render(): void;
  tick(): void;
}

interface TabView {
  tab: HTMLButtonElement;
  tabLabel: HTMLElement;
  tabBadge: HTMLElement;
  panel: HTMLElement;
  log: HTMLOListElement;
  logBox: HTMLElement;
  typing: HTMLElement;
  note: HTMLElement;
  composer: HTMLTextAreaElement;
  form: HTMLFormElement;
  message: HTMLElement;
  actions: HTMLElement;
  ended: HTMLElement;
  endedText: HTMLElement;
  registration: HTMLElement;
  drawnSignature: string;
  drewRegistration: boolean;
  lastTypingSent: number;
  number: number;
}

export function buildChatsPanel(
  client: ChatClient,
  ring: { start(): void; stop(): void },
  onSessionGone: () => void,
): ChatsPanel {
  const headingId = id("chats-heading");
  const offerTitle = tr(h("p", { class: "call-title" }), "chat.offer");
  const offerLanguage = h("dd");
  const offerWaited = h("dd");
  const accept = tr(h("button", { type: "button", class: "btn btn-go" }), "chat.accept");
  const decline = tr(h("button", { type: "button", class: "btn" }), "chat.decline");
  const offerMessage = h("p", { class: "form-message", role: "alert", hidden: true });
  const offer = h(
    "div",
    { class: "chat-offer", hidden: true },
    offerTitle,
    h("dl", { class: "details" }, tr(h("dt"), "call.language"), offerLanguage, tr(h("dt"), "call.waited"), offerWaited),
    h("div", { class: "actions" }, accept, decline),
    offerMessage,
  );
  const empty = tr(h("p", { class: "muted" }), "chat.none");
  const tablist = h("div", { class: "chat-tabs", role: "tablist" });
  tr(tablist, "chat.tabs", undefined, "aria-label");
  const panels = h("div", { class: "chat-panels" });
  const announce = h("p", { class: "visually-hidden", role: "status", "aria-live": "assertive" });
  const el = h(
    "section",
    { class: "panel chats-panel", "aria-labelledby": headingId },
    tr(h("h2", { id: headingId }), "chat.heading"),
    offer,
    empty,
    tablist,
    panels,
    announce,
  );

  const views = new Map<string, TabView>();
  let canned: CannedText[] = [];
  let cannedLang = "";
  let counter = 0;
  let lastOffer: string | null = null;
  let busy = false;

  async function loadCanned(): Promise<void> {
    if (cannedLang === lang()) return;
    cannedLang = lang();
    try {
      canned = await client.canned(lang());
    } catch {
      canned = [];
      cannedLang = ""; // asked again with the next chat
    }
    for (const view of views.values()) fillCanned(view);
  }
  onLanguageChanged(() => void loadCanned());

  const offerAction = async (action: "accept" | "decline") => {
    const contact = chatOffer();
    if (contact === null || busy) return;
    busy = true;
    accept.disabled = decline.disabled = true;
    show(offerMessage, false);
    try {
      if (action === "accept") {
        await client.accept(contact.contact_id);
        void loadCanned();
        views.get(contact.contact_id)?.composer.focus();
      } else await client.decline(contact.contact_id);
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) return onSessionGone();
      offerMessage.textContent = t("state.refused", { message: exc instanceof ApiError ? exc.message : t("err.network") });
      show(offerMessage, true);
    } finally {
      busy = false;
      accept.disabled = decline.disabled = false;
      changed();
    }
  };
  accept.addEventListener("click", () => void offerAction("accept"));
  decline.addEventListener("click", () => void offerAction("decline"));

  client.onError = (chat, code, message) => {
    const view = chat === null ? (state.activeChat === null ? undefined : views.get(state.activeChat)) : views.get(chat);
    const text = t(`chat.err.${code}`, { defaultValue: message || t("chat.err.bad_request") });
    if (view !== undefined) say(view, text);
    changed();
  };

  function say(view: TabView, text: string | null): void {
    view.message.textContent = text ?? "";
    show(view.message, text !== null);
  }

  function fillCanned(view: TabView): void {
    const select = view.form.querySelector("select") as HTMLSelectElement;
    const box = select.closest(".canned") as HTMLElement;
    select.replaceChildren(
      h("option", { value: "" }, t("chat.cannedChoose")),
      ...canned.map((c) => h("option", { value: c.id }, c.label)),
    );
    show(box, canned.length > 0);
  }

  function select(chatId: string, focus: boolean): void {
    state.activeChat = chatId;
    changed();
    if (focus) views.get(chatId)?.tab.focus();
  }

  tablist.addEventListener("keydown", (event) => {
    // The tabs pattern: arrows move between tabs, Home/End to the ends.
    const ids = [...views.keys()];
    const at = state.activeChat === null ? -1 : ids.indexOf(state.activeChat);
    let next = -1;
    if (event.key === "ArrowRight") next = (at + 1) % ids.length;
    else if (event.key === "ArrowLeft") next = (at - 1 + ids.length) % ids.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = ids.length - 1;
    if (next < 0 || ids.length === 0) return;
    event.preventDefault();
    select(ids[next], true);
  });

  function build(tab: ChatTab): TabView {
    counter += 1;
    const number = counter;
    const tabId = id("chat-tab");
    const panelId = id("chat-panel");
    const composerId = id("chat-composer");
    const cannedId = id("chat-canned");
    const tabLabel = h("span", {});
    const tabBadge = h("span", { class: "badge badge-warn", hidden: true });
    const tabEl = h(
      "button",
      { type: "button", role: "tab", id: tabId, "aria-controls": panelId, "aria-selected": "false", tabindex: -1, class: "chat-tab" },
      tabLabel,
      tabBadge,
    );
    tabEl.addEventListener("click", () => select(tab.id, false));
    const note = h("p", { class: "chat-note", hidden: true });
    const log = h("ol", { class: "chat-list" });
    const logBox = h("div", { class: "chat-log", role: "log", "aria-live": "polite", tabindex: 0 }, log);
    tr(logBox, "chat.transcript", undefined, "aria-label");
    const typing = tr(h("p", { class: "typing muted", hidden: true }), "chat.typing");
    const composer = h("textarea", { id: composerId, rows: 3, autocomplete: "off" });
    const send = tr(h("button", { type: "submit", class: "btn btn-primary" }), "chat.send");
    const cannedSelect = h("select", { id: cannedId });
    const insert = tr(h("button", { type: "button", class: "btn btn-small" }), "chat.insert");
    const form = h(
      "form",
      { class: "chat-composer", novalidate: true },
      h("div", { class: "canned", hidden: true }, tr(h("label", { for: cannedId }), "chat.canned"), h("div", { class: "canned-row" }, cannedSelect, insert)),
      tr(h("label", { for: composerId }), "chat.message"),
      h("div", { class: "composer-row" }, composer, send),
    );
    const message = h("p", { class: "form-message", role: "alert", hidden: true });

    // Ending, with an optional closing message and an optional block.
    const endToggle = tr(h("button", { type: "button", class: "btn btn-stop", "aria-expanded": "false" }), "chat.end");
    const handToggle = tr(h("button", { type: "button", class: "btn", "aria-expanded": "false" }), "chat.handoff");
    const closingId = id("chat-closing");
    const blockId = id("chat-block");
    const closing = h("textarea", { id: closingId, rows: 2 });
    const block = h("input", { type: "checkbox", id: blockId });
    const endForm = h(
      "form",
      { class: "chat-end", hidden: true, novalidate: true },
      h("div", { class: "field" }, tr(h("label", { for: closingId }), "chat.closing"), closing),
      h("div", { class: "field field-check" }, block, tr(h("label", { for: blockId }), "chat.block")),
      h("div", { class: "actions" }, tr(h("button", { type: "submit", class: "btn btn-stop" }), "chat.endNow"), tr(h("button", { type: "button", class: "btn btn-quiet", "data-cancel": "" }), "transfer.cancel")),
    );
    const toId = id("chat-to");
    const noteId = id("chat-note");
    const to = h("input", { type: "text", id: toId, autocomplete: "off", spellcheck: "false" });
    const noteField = h("textarea", { id: noteId, rows: 2, maxlength: 1000 });
    const handForm = h(
      "form",
      { class: "chat-handoff", hidden: true, novalidate: true },
      h("div", { class: "field" }, tr(h("label", { for: toId }), "chat.handoffTo"), to),
      h("div", { class: "field" }, tr(h("label", { for: noteId }), "chat.handoffNote"), noteField, tr(h("p", { class: "hint" }), "chat.handoffHint")),
      h("div", { class: "actions" }, tr(h("button", { type: "submit", class: "btn btn-primary" }), "chat.handoffNow"), tr(h("button", { type: "button", class: "btn btn-quiet", "data-cancel": "" }), "transfer.cancel")),
    );
    const actions = h("div", { class: "chat-actions" }, h("div", { class: "actions" }, handToggle, endToggle), handForm, endForm);
    const endedText = h("p", { class: "chat-ended-text", role: "status" });
    const registration = h("div", { class: "chat-registration" });
    const closeTab = tr(h("button", { type: "button", class: "btn" }), "chat.closeTab");
    const ended = h("div", { class: "chat-ended", hidden: true }, endedText, registration, closeTab);
    const panel = h(
      "div",
      { role: "tabpanel", id: panelId, "aria-labelledby": tabId, class: "chat-panel", hidden: true },
      note,
      logBox,
      typing,
      form,
      message,
      actions,
      ended,
    );
    const view: TabView = {
      tab: tabEl,
      tabLabel,
      tabBadge,
      panel,
      log,
      logBox,
      typing,
      note,
      composer,
      form,
      message,
      actions,
      ended,
      endedText,
      registration,
      drawnSignature: "",
      drewRegistration: false,
      lastTypingSent: 0,
      number,
    };

    const toggle = (which: HTMLFormElement, button: HTMLButtonElement, other: HTMLFormElement, otherButton: HTMLButtonElement) => {
      const open = which.hidden === true;
      show(which, open);
      button.setAttribute("aria-expanded", String(open));
      show(other, false);
      otherButton.setAttribute("aria-expanded", "false");
      if (open) (which.querySelector("textarea, input") as HTMLElement | null)?.focus();
    };
    endToggle.addEventListener("click", () => toggle(endForm, endToggle, handForm, handToggle));
    handToggle.addEventListener("click", () => toggle(handForm, handToggle, endForm, endToggle));
    for (const cancel of [...endForm.querySelectorAll("[data-cancel]"), ...handForm.querySelectorAll("[data-cancel]")]) {
      cancel.addEventListener("click", () => {
        show(endForm, false);
        show(handForm, false);
        endToggle.setAttribute("aria-expanded", "false");
        handToggle.setAttribute("aria-expanded", "false");
      });
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = composer.value.trim();
      if (text === "") return;
      say(view, null);
      client.send(tab.id, text);
      composer.value = "";
      composer.focus();
    });
    composer.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    composer.addEventListener("input", () => {
      const now = Date.now();
      if (composer.value !== "" && now - view.lastTypingSent > TYPING_EVERY_MS) {
        view.lastTypingSent = now;
        client.typing(tab.id);
      }
    });
    insert.addEventListener("click", () => {
      const chosen = canned.find((c) => c.id === cannedSelect.value);
      if (chosen === undefined) return;
      // Inserted, not sent: the volunteer reads and edits it first.
      const before = composer.value.trimEnd();
      composer.value = before === "" ? chosen.text : `${before} ${chosen.text}`;
      composer.focus();
      composer.setSelectionRange(composer.value.length, composer.value.length);
      cannedSelect.value = "";
    });

    endForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = closing.value.trim();
      // The closing message is stored before the chat ends (the child reads it last).
      if (text !== "") await client.sendAndWait(tab.id, text);
      try {
        await client.end(tab.id, block.checked);
        const current = state.chats.get(tab.id);
        if (current !== undefined && current.ended === null) current.ended = block.checked ? "volunteer_blocked" : "volunteer";
        show(endForm, false);
        changed();
      } catch (exc) {
        if (exc instanceof ApiError && exc.status === 401) return onSessionGone();
        say(view, t("state.refused", { message: exc instanceof ApiError ? exc.message : t("err.network") }));
      }
    });
    handForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const colleague = to.value.trim();
      if (colleague === "") {
        say(view, t("chat.handoffWho"));
        to.focus();
        return;
      }
      try {
        await client.handoff(tab.id, colleague, noteField.value.trim());
        show(handForm, false);
        say(view, null);
        announce.textContent = t("chat.handedOver", { name: colleague });
      } catch (exc) {
        if (exc instanceof ApiError && exc.status === 401) return onSessionGone();
        say(view, t("chat.handoffRefused", { message: exc instanceof ApiError ? exc.message : t("err.network") }));
      }
    });
    closeTab.addEventListener("click", () => {
      views.delete(tab.id);
      state.chats.delete(tab.id);
      tabEl.remove();
      panel.remove();
      const next = views.keys().next();
      state.activeChat = next.done ? null : next.value;
      changed();
      if (state.activeChat !== null) views.get(state.activeChat)?.tab.focus();
      else empty.focus();
    });

    fillCanned(view);
    tablist.append(tabEl);
    panels.append(panel);
    return view;
  }

  function drawLog(view: TabView, tab: ChatTab): void {
    const last = tab.lines[tab.lines.length - 1];
    const signature = [
      tab.lines.length,
      last?.seq ?? "",
      tab.readByChild,
      tab.lines.filter((l) => l.seq === null).length,
      tab.lines.filter((l) => l.failed).length,
      tab.lines.filter((l) => l.delivered).length,
      lang(),
    ].join(":");
    if (signature === view.drawnSignature) return;
    view.drawnSignature = signature;
    const box = view.logBox;
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    view.log.replaceChildren(...tab.lines.map((line) => lineEl(tab, line)));
    if (nearBottom || last?.from === "volunteer") box.scrollTop = box.scrollHeight;
  }

  function lineEl(tab: ChatTab, line: ChatLine): HTMLLIElement {
    const who = line.from === "child" ? t("chat.child") : line.from === "volunteer" ? t("chat.you") : t("chat.system");
    const text = h("p", { class: "msg-text" });
    text.textContent = line.text; // text, never HTML
    const li = h("li", { class: `msg msg-${line.from}` }, h("span", { class: "msg-who" }, who), text);
    if (line.from === "volunteer") {
      const stateKey = line.failed ? "failed" : line.seq === null ? "sending" : line.seq <= tab.readByChild ? "read" : line.delivered ? "delivered" : "sent";
      const mark = stateKey === "read" || stateKey === "delivered" ? "✓✓ " : stateKey === "sent" ? "✓ " : "";
      const status = h("span", { class: "msg-state", "data-state": stateKey }, h("span", { "aria-hidden": "true" }, mark), t(`chat.${stateKey}`));
      if (line.failed) {
        const again = tr(h("button", { type: "button", class: "btn-link" }), "chat.resend");
        again.addEventListener("click", () => client.retry(tab.id, line));
        status.append(" · ", again);
      }
      li.append(status);
    }
    return li;
  }

  function drawEnded(view: TabView, tab: ChatTab): void {
    const over = tab.ended !== null;
    show(view.ended, over);
    show(view.form, !over);
    show(view.actions, !over);
    if (!over) return;
    setText(view.endedText, t(`chat.ended_${tab.ended}`, { defaultValue: t("chat.ended") }));
    if (view.drewRegistration) return;
    view.drewRegistration = true;
    typingOff(view);
    if (tab.ended === "handed_over" || state.workspace?.registration === undefined) {
      view.registration.replaceChildren();
      return;
    }
    const message = h("p", { class: "form-message", role: "alert", hidden: true });
    const done = h("p", { class: "success", role: "status", hidden: true });
    const formEl = registrationForm(
      { contactId: tab.id, referral: null, partnerNames: new Map(), before: null },
      {
        say: (text) => {
          message.textContent = text ?? "";
          show(message, text !== null);
        },
        done: () => {
          formEl.remove();
          done.textContent = t("wrapup.saved");
          show(done, true);
        },
        sessionGone: onSessionGone,
      },
    );
    view.registration.replaceChildren(tr(h("h3", {}), "wrapup.heading"), tr(h("p", { class: "muted" }), "wrapup.intro"), formEl, message, done);
  }

  function typingOff(view: TabView): void {
    show(view.typing, false);
  }

  function render(): void {
    // The offer
    const contact = chatOffer();
    show(offer, contact !== null);
    if (contact !== null) {
      setText(offerLanguage, contact.language ? categoryLabel("lang", contact.language) : t("lang.any"));
      if (lastOffer !== contact.contact_id) {
        lastOffer = contact.contact_id;
        ring.start();
        announce.textContent = t("chat.offer");
        const active = document.activeElement;
        if (active === null || active === document.body || active.id === "workspace-main") accept.focus();
      }
    } else if (lastOffer !== null) {
      lastOffer = null;
      ring.stop();
    }
    // The tabs: every chat held or still to register, in the order they came.
    for (const [chatId, view] of views) {
      if (state.chats.has(chatId)) continue;
      view.tab.remove(); // signed out, or the chat is gone from the server
      view.panel.remove();
      views.delete(chatId);
    }
    for (const tab of state.chats.values()) if (!views.has(tab.id)) views.set(tab.id, build(tab));
    if (views.size > 0) void loadCanned(); // once per language (a chat may come by hand-over)
    show(empty, views.size === 0 && contact === null);
    show(tablist, views.size > 0);
    if (state.activeChat === null || !views.has(state.activeChat)) {
      const first = views.keys().next();
      state.activeChat = first.done ? null : first.value;
    }
    for (const [chatId, view] of views) {
      const tab = state.chats.get(chatId);
      if (tab === undefined) continue;
      const active = chatId === state.activeChat;
      if (active) client.markRead(chatId); // shown: read (and no "new" mark)
      view.tab.setAttribute("aria-selected", String(active));
      view.tab.tabIndex = active ? 0 : -1;
      view.tab.dataset.ended = String(tab.ended !== null);
      show(view.panel, active);
      const label = [t(tab.peer ? "chat.tabPeer" : "chat.tab", { n: view.number }), tab.ended !== null ? t("chat.tabEnded") : ""].filter(Boolean).join(" · ");
      setText(view.tabLabel, label);
      const unread = active ? 0 : tab.unread;
      show(view.tabBadge, unread > 0);
      setText(view.tabBadge, unread > 0 ? t("chat.unread", { count: unread }) : "");
      show(view.note, tab.note !== null);
      setText(view.note, tab.note === null ? "" : t("chat.noteFrom", { note: tab.note }));
      drawLog(view, tab);
      drawEnded(view, tab);
    }
    tick();
  }

  function tick(): void {
    const contact = chatOffer();
    if (contact !== null) setText(offerWaited, duration(serverNow() - contact.arrived_at));
    const now = Date.now();
    for (const [chatId, view] of views) {
      const tab = state.chats.get(chatId);
      show(view.typing, tab !== undefined && tab.ended === null && tab.typingUntil > now);
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (state.activeChat !== null) client.markRead(state.activeChat);
  });

  return { el, render, tick };
}
