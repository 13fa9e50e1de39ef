// The supervisor's coaching panel (shown to accounts with role ``supervisor`` only; the API
// refuses everyone else anyway): surge mode with a confirmation, the volunteers signed in now
// as the live bus shows them (one row each, views/coachrow.ts), and the chats being read
// along (views/readalong.ts). Coaching a call rings this supervisor's own phone, which
// answers it by itself (coach.ts claims the call; phone.ts answers).
import { type Coach, endedText, refusalText } from "../coach";
import { h, id, setText, show, tr } from "../dom";
import { t } from "../i18n";
import { ReadAlong } from "../readalong";
import { changed, state } from "../store";
import type { CoachingView } from "../types";
import { buildCoachRow, type CoachRow } from "./coachrow";
import { buildReadPane, type ReadPane } from "./readalong";

export interface CoachingPanel {
  el: HTMLElement;
  render(): void;
  /** A coaching moved on (from the live bus). */
  coachingStep(coaching: CoachingView): void;
  /** Signed out: every read-along socket closes. */
  stop(): void;
}

export function buildCoachingPanel(
  coach: Coach,
  locationName: (id: string) => string,
  onSessionGone: () => void,
): CoachingPanel {
  const headingId = id("coach-heading");
  const status = h("p", { class: "coach-status", role: "status", "aria-live": "polite" });

  // Surge mode: a state line, a button, and a confirmation that says what it does.
  const surgeText = h("p", { class: "surge-text" });
  const surgeOpen = h("button", { type: "button", class: "btn btn-small", "aria-expanded": "false" });
  const surgeConfirmText = h("p", {});
  const surgeYes = h("button", { type: "button", class: "btn btn-small btn-primary" });
  const surgeNo = tr(h("button", { type: "button", class: "btn btn-small btn-quiet" }), "transfer.cancel");
  const surgeMessage = h("p", { class: "form-message", role: "alert", hidden: true });
  const surgeConfirm = h("div", { class: "coach-drawer", hidden: true }, surgeConfirmText, h("div", { class: "actions" }, surgeYes, surgeNo));
  const surgeHeadingId = id("surge-heading");
  const surge = h(
    "section",
    { class: "surge", "aria-labelledby": surgeHeadingId },
    tr(h("h3", { id: surgeHeadingId }), "coach.surge.heading"),
    surgeText,
    surgeOpen,
    surgeConfirm,
    surgeMessage,
  );

  const empty = tr(h("p", { class: "muted" }), "coach.none");
  const intro = h("p", { class: "muted" });
  const phoneBusy = tr(h("p", { class: "warning", hidden: true }), "coach.phoneBusy");
  const list = h("ul", { class: "coach-list" });
  tr(list, "coach.list", undefined, "aria-label");
  const reading = h("div", { class: "coach-reading" });
  const el = h(
    "section",
    { class: "panel coach-panel", "aria-labelledby": headingId },
    tr(h("h2", { id: headingId, tabindex: -1 }), "coach.heading"),
    intro,
    phoneBusy,
    surge,
    status,
    h("div", { class: "coach-body" }, h("div", { class: "coach-people" }, empty, list), reading),
  );
  const heading = el.querySelector("h2") as HTMLElement;

  const rows = new Map<string, CoachRow>();
  const panes = new Map<string, { pane: ReadPane; agentId: string; n: number }>();
  let order = "";
  let surgeBusy = false;

  // Kept as a maker, not a text: said again in the page's language after a switch.
  let said: (() => string) | null = null;
  const say = (text: (() => string) | null) => {
    said = text;
    setText(status, said?.() ?? "");
  };

  function readAlong(agentId: string, chatId: string, n: number): void {
    const open = panes.get(chatId);
    if (open !== undefined) {
      open.pane.focus();
      return;
    }
    const stillThere = () => [...state.agents.values()].some((a) => a.contacts.some(([c]) => c === chatId));
    const reader = new ReadAlong(chatId, changed, onSessionGone, stillThere);
    const pane = buildReadPane(reader, () => closePane(chatId, null));
    panes.set(chatId, { pane, agentId, n });
    reading.append(pane.el);
    render();
    pane.focus();
  }

  function closePane(chatId: string, message: (() => string) | null): void {
    const open = panes.get(chatId);
    if (open === undefined) return;
    const hadFocus = open.pane.el.contains(document.activeElement);
    open.pane.reader.stop();
    open.pane.el.remove();
    panes.delete(chatId);
    if (message !== null) say(message);
    if (hadFocus) {
      const button = list.querySelector<HTMLElement>(`button[data-chat="${CSS.escape(chatId)}"]`);
      (button ?? heading).focus();
    }
    changed();
  }

  const deps = { coach, locationName, readAlong, isReading: (chat: string) => panes.has(chat), say };

  surgeOpen.addEventListener("click", () => {
    const open = surgeConfirm.hidden === true;
    show(surgeConfirm, open);
    surgeOpen.setAttribute("aria-expanded", String(open));
    if (open) surgeNo.focus();
  });
  surgeNo.addEventListener("click", () => {
    show(surgeConfirm, false);
    surgeOpen.setAttribute("aria-expanded", "false");
    surgeOpen.focus();
  });
  surgeYes.addEventListener("click", async () => {
    if (surgeBusy) return;
    surgeBusy = true;
    show(surgeMessage, false);
    try {
      await coach.setSurge(!state.surge);
      show(surgeConfirm, false);
      surgeOpen.setAttribute("aria-expanded", "false");
      surgeOpen.focus();
    } catch (exc) {
      surgeMessage.textContent = refusalText(exc, "");
      show(surgeMessage, true);
    } finally {
      surgeBusy = false;
      changed();
    }
  });

  function renderSurge(): void {
    const on = state.surge;
    surge.dataset.on = String(on);
    setText(surgeText, t(on ? "coach.surge.on" : "coach.surge.off"));
    setText(surgeOpen, t(on ? "coach.surge.turnOff" : "coach.surge.turnOn"));
    setText(surgeConfirmText, t(on ? "coach.surge.confirmOff" : "coach.surge.confirmOn"));
    setText(surgeYes, t(on ? "coach.surge.yesOff" : "coach.surge.yesOn"));
    surgeYes.disabled = surgeBusy;
  }

  function render(): void {
    // A desk phone or softphone rings and is answered by hand; the browser phone answers itself.
    setText(intro, t(state.sip === "external" ? "coach.introExternal" : "coach.intro"));
    const call = state.call;
    show(phoneBusy, call.state !== "none" && call.state !== "ended" && !call.coaching);
    renderSurge();
    setText(status, said?.() ?? "");
    const volunteers = coach.volunteers();
    coach.learnNames(volunteers.map((a) => a.agent_id));
    const shown = new Set(volunteers.map((a) => a.agent_id));
    for (const [agentId, row] of rows) {
      if (shown.has(agentId)) continue;
      row.el.remove();
      rows.delete(agentId);
    }
    for (const agent of volunteers) {
      let row = rows.get(agent.agent_id);
      if (row === undefined) {
        row = buildCoachRow(agent.agent_id, deps);
        rows.set(agent.agent_id, row);
      }
      row.render(agent);
    }
    // Re-ordered only when the order changed: moving an element would drop its focus.
    const next = volunteers.map((a) => a.agent_id).join(",");
    if (next !== order) {
      order = next;
      list.replaceChildren(...volunteers.map((a) => (rows.get(a.agent_id) as CoachRow).el));
    }
    show(empty, volunteers.length === 0);
    for (const [chatId, { pane, agentId, n }] of panes) {
      const name = coach.nameOf(agentId);
      if (pane.reader.ended !== null) {
        closePane(chatId, () => t("coach.readEnded", { name: coach.nameOf(agentId) }));
        continue;
      }
      pane.render(t("coach.pane.title", { name, n }));
    }
  }

  function coachingStep(coaching: CoachingView): void {
    if (coaching.supervisor_id !== coach.me || coaching.state !== "ended") return;
    if (endedText(coaching, "") !== null) say(() => endedText(coaching, coach.nameOf(coaching.agent_id)) ?? "");
  }

  function stop(): void {
    for (const { pane } of panes.values()) {
      pane.reader.stop();
      pane.el.remove();
    }
    panes.clear();
    say(null);
  }

  return { el, render, coachingStep, stop };
}
