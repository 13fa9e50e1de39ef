// One volunteer in the supervisor's coaching panel: name, location, state and the channels of
// their contacts (never anything about a child), then what a supervisor can do: listen,
// whisper, barge and stop on their call, read along with each of their chats, pause them
// with a reason, log them out. Built once and updated in place, so focus stays put.
import { categoryLabel, t } from "../i18n";
import { type Coach, type CoachMode, MODES, refusalText } from "../coach";
import { h, id, setText, show } from "../dom";
import { clock } from "../format";
import { changed, state } from "../store";
import type { AgentView, Category } from "../types";

export interface RowDeps {
  coach: Coach;
  locationName(id: string): string;
  /** Open (or bring forward) the read-along pane of this chat. */
  readAlong(agentId: string, chatId: string, n: number): void;
  isReading(chatId: string): boolean;
  /** A line for the panel's status (announced). */
  say(text: () => string): void;
}

export interface CoachRow {
  el: HTMLLIElement;
  render(agent: AgentView): void;
}

const isChat = (channel: string) => channel === "chat" || channel === "peer_chat";

/** What each of the volunteer's contacts is, in order: a peer chat is told from a chat by its
 * kind (the channel of both is the queue's `chat`). */
export function contactKinds(agent: Pick<AgentView, "contacts" | "kinds">): string[] {
  return agent.contacts.map(([, channel], i) => agent.kinds?.[i] ?? channel);
}

export function buildCoachRow(agentId: string, deps: RowDeps): CoachRow {
  const { coach } = deps;
  const nameId = id("coach-name");
  const name = h("h3", { id: nameId, class: "coach-name" });
  const where = h("span", { class: "muted" });
  const stateText = h("span", { class: "coach-state" });
  const contacts = h("span", { class: "coach-contacts" });
  const badge = h("span", { class: "badge badge-ok coach-badge", hidden: true });
  const modeButtons = new Map<CoachMode, HTMLButtonElement>();
  for (const mode of MODES) {
    const button = h("button", { type: "button", class: "btn btn-small", "aria-pressed": "false", "data-mode": mode });
    button.addEventListener("click", () => void act(() => coachCall(mode)));
    modeButtons.set(mode, button);
  }
  const stop = h("button", { type: "button", class: "btn btn-small btn-stop" });
  stop.addEventListener("click", () => void act(() => coach.stop(agentId), () => deps.say(() => t("coach.stopped", { name: who() }))));
  const coachGroup = h("div", { class: "actions coach-modes", role: "group" }, ...modeButtons.values(), stop);
  const chats = h("div", { class: "actions coach-chats" });
  const pauseOpen = h("button", { type: "button", class: "btn btn-small", "aria-expanded": "false" });
  const logoutOpen = h("button", { type: "button", class: "btn btn-small", "aria-expanded": "false" });
  const admin = h("div", { class: "actions" }, pauseOpen, logoutOpen);

  const reasonId = id("coach-reason");
  const reason = h("select", { id: reasonId });
  const reasonLabel = h("label", { for: reasonId });
  const pauseNow = h("button", { type: "submit", class: "btn btn-small btn-pause" });
  const pauseCancel = h("button", { type: "button", class: "btn btn-small btn-quiet" });
  const pauseForm = h(
    "form",
    { class: "coach-drawer", hidden: true, novalidate: true },
    h("div", { class: "field field-inline" }, reasonLabel, reason),
    h("div", { class: "actions" }, pauseNow, pauseCancel),
  );
  const logoutText = h("p", {});
  const logoutNow = h("button", { type: "button", class: "btn btn-small btn-stop" });
  const logoutCancel = h("button", { type: "button", class: "btn btn-small btn-quiet" });
  const logoutBox = h("div", { class: "coach-drawer", hidden: true }, logoutText, h("div", { class: "actions" }, logoutNow, logoutCancel));
  const message = h("p", { class: "form-message", role: "alert", hidden: true });
  const el = h(
    "li",
    { class: "coach-row", "aria-labelledby": nameId, "data-agent": agentId },
    h("div", { class: "coach-head" }, name, where, stateText, contacts, badge),
    coachGroup,
    chats,
    admin,
    pauseForm,
    logoutBox,
    message,
  );

  let agent: AgentView | null = null;
  let busy = false;
  let chatsDrawn = "";
  let reasonsFrom: unknown = undefined;
  /** The last refusal, said again in the page's language after a switch. */
  let refusal: (() => string) | null = null;
  const who = () => coach.nameOf(agentId);
  const reasonText = (r: string) =>
    categoryLabel("reason", state.workspace?.pause_reasons.find((c) => (typeof c === "string" ? c : c.id) === r) ?? r);

  async function act(action: () => Promise<void>, done?: () => void): Promise<void> {
    if (busy) return;
    busy = true;
    refusal = null;
    redraw();
    try {
      await action();
      done?.();
    } catch (exc) {
      refusal = () => refusalText(exc, who());
    } finally {
      busy = false;
      changed();
    }
  }

  function coachCall(mode: CoachMode): Promise<void> {
    const current = coach.coachingOf(agentId);
    if (current !== null && current.supervisor_id === coach.me) {
      return current.mode === mode ? Promise.resolve() : coach.setMode(agentId, mode);
    }
    return coach.start(agentId, mode);
  }

  const drawer = (open: HTMLElement | null) => {
    show(pauseForm, open === pauseForm);
    show(logoutBox, open === logoutBox);
    pauseOpen.setAttribute("aria-expanded", String(open === pauseForm));
    logoutOpen.setAttribute("aria-expanded", String(open === logoutBox));
  };
  pauseOpen.addEventListener("click", () => {
    drawer(pauseForm.hidden ? pauseForm : null);
    if (!pauseForm.hidden) reason.focus();
  });
  logoutOpen.addEventListener("click", () => {
    drawer(logoutBox.hidden ? logoutBox : null);
    if (!logoutBox.hidden) logoutCancel.focus();
  });
  pauseCancel.addEventListener("click", () => {
    drawer(null);
    pauseOpen.focus();
  });
  logoutCancel.addEventListener("click", () => {
    drawer(null);
    logoutOpen.focus();
  });
  pauseForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = reason.value;
    if (chosen === "") return;
    void act(
      () => coach.pause(agentId, chosen),
      () => {
        drawer(null);
        deps.say(() => t("coach.pausedBy", { name: who(), reason: reasonText(chosen) }));
      },
    );
  });
  logoutNow.addEventListener("click", () => {
    void act(
      () => coach.logout(agentId),
      () => {
        drawer(null);
        deps.say(() => t("coach.loggedOut", { name: who() }));
      },
    );
  });

  function drawReasons(): void {
    if (reasonsFrom === state.workspace) return;
    reasonsFrom = state.workspace;
    const reasons = state.workspace?.pause_reasons ?? [];
    reason.replaceChildren(
      ...reasons.map((r: Category | string) => h("option", { value: typeof r === "string" ? r : r.id }, categoryLabel("reason", r))),
    );
  }

  function drawChats(held: [string, string][]): void {
    const list = held.filter(([, channel]) => isChat(channel));
    const signature = list.map(([chat]) => chat).join(",") + t("coach.readAlong");
    if (signature === chatsDrawn) return;
    chatsDrawn = signature;
    chats.replaceChildren(
      ...list.map(([chat], index) => {
        const n = index + 1;
        const text = list.length > 1 ? t("coach.readAlongN", { n }) : t("coach.readAlong");
        const button = h("button", { type: "button", class: "btn btn-small", "data-chat": chat, "aria-label": t("coach.readAlongLabel", { name: who(), n }) }, text);
        button.addEventListener("click", () => deps.readAlong(agentId, chat, n));
        return button;
      }),
    );
  }

  function redraw(): void {
    if (agent !== null) render(agent);
  }

  function render(next: AgentView): void {
    agent = next;
    drawReasons();
    setText(name, who());
    setText(where, deps.locationName(next.location_id));
    let text = t(`state.${next.state}`);
    if (next.state === "paused" && next.reason) text = t("state.pausedBecause", { reason: reasonText(next.reason) });
    text += ` · ${t("state.since", { time: clock(next.since) })}`;
    if (next.pending_pause) text += ` · ${t("state.pendingPause", { reason: reasonText(next.pending_pause) })}`;
    if (next.pending_logout) text += ` · ${t("coach.pendingLogout")}`;
    if (next.coaching) text += ` · ${t("coach.coachingNow")}`;
    setText(stateText, text);
    const channels = contactKinds(next).map((kind) => categoryLabel("channel", kind));
    setText(contacts, channels.length > 0 ? t("coach.contacts", { channels: channels.join(", ") }) : "");

    // The call and its coaching.
    const inCall = next.contacts.some(([, channel]) => !isChat(channel));
    const coaching = coach.coachingOf(agentId);
    const mine = coaching !== null && coaching.supervisor_id === coach.me;
    show(badge, coaching !== null);
    if (coaching !== null) {
      const mode = t(`coach.modeName.${coaching.mode}`);
      let label = mine ? t("coach.byYou", { mode }) : t("coach.byOther", { who: coach.nameOf(coaching.supervisor_id), mode });
      if (coaching.state === "ringing") label += ` (${t(mine ? "coach.yourPhoneRings" : "coach.ringing")})`;
      setText(badge, label);
    }
    // This supervisor's own phone in a child's call cannot be rung for a coaching.
    const phoneBusy = state.call.state !== "none" && state.call.state !== "ended" && !state.call.coaching;
    show(coachGroup, inCall || coaching !== null);
    coachGroup.setAttribute("aria-label", t("coach.modeGroup", { name: who() }));
    for (const [mode, button] of modeButtons) {
      setText(button, t(`coach.mode.${mode}`));
      button.setAttribute("aria-pressed", String(mine && coaching?.mode === mode));
      button.disabled = busy || !inCall || phoneBusy || (coaching !== null && !mine);
    }
    setText(stop, t("coach.stop"));
    show(stop, coaching !== null);
    stop.disabled = busy;
    drawChats(next.contacts);
    for (const button of chats.querySelectorAll<HTMLButtonElement>("button")) {
      button.setAttribute("aria-pressed", String(deps.isReading(button.dataset.chat ?? "")));
    }

    setText(pauseOpen, t("coach.pause"));
    pauseOpen.disabled = busy || next.state === "paused" || next.pending_pause !== null;
    setText(logoutOpen, t("coach.logout"));
    logoutOpen.disabled = busy || next.pending_logout;
    setText(reasonLabel, t("coach.pauseReason"));
    setText(pauseNow, t("coach.pauseNow"));
    setText(pauseCancel, t("transfer.cancel"));
    pauseNow.disabled = busy || reason.options.length === 0;
    setText(logoutText, t("coach.logoutConfirm", { name: who() }));
    setText(logoutNow, t("coach.logoutNow"));
    setText(logoutCancel, t("transfer.cancel"));
    logoutNow.disabled = busy;
    show(message, refusal !== null);
    setText(message, refusal?.() ?? "");
  }

  return { el, render };
}
