// The conversation: an incoming contact (channel, line dialled, language, how long the child
// waited: from the live bus, never a number), then answer, hold, mute and hang up.
import { h, id, setText, show, tr } from "../dom";
import { categoryLabel, t } from "../i18n";
import { duration } from "../format";
import type { Phone } from "../phone";
import { currentContact, serverNow, state, phoneOffered } from "../store";

export interface CallPanel {
  el: HTMLElement;
  render(): void;
  tick(): void;
}

export function buildCallPanel(phone: Phone): CallPanel {
  const headingId = id("call-heading");
  const title = h("p", { class: "call-title" });
  const badges = h("p", { class: "badges" });
  const idle = tr(h("p", { class: "muted" }), "call.none");
  const channel = h("dd");
  const line = h("dd");
  const language = h("dd");
  const waitLabel = h("dt");
  const wait = h("dd");
  const lineRow = [tr(h("dt"), "call.line"), line];
  const details = h(
    "dl",
    { class: "details" },
    tr(h("dt"), "call.channel"),
    channel,
    ...lineRow,
    tr(h("dt"), "call.language"),
    language,
    waitLabel,
    wait,
  );
  const answer = tr(h("button", { type: "button", class: "btn btn-big btn-go" }), "call.answer");
  const hold = h("button", { type: "button", class: "btn", "aria-pressed": "false" });
  const mute = h("button", { type: "button", class: "btn", "aria-pressed": "false" });
  const hangup = tr(h("button", { type: "button", class: "btn btn-stop" }), "call.hangup");
  const actions = h("div", { class: "actions" }, answer, hold, mute, hangup);
  const warn = h("p", { class: "warning", hidden: true });
  const announce = h("p", { class: "visually-hidden", role: "status", "aria-live": "assertive" });
  answer.addEventListener("click", () => {
    phone.unlockAudio();
    phone.answer();
  });
  hold.addEventListener("click", () => phone.toggleHold());
  mute.addEventListener("click", () => phone.toggleMute());
  hangup.addEventListener("click", () => phone.hangUp());
  const el = h(
    "section",
    { class: "panel call-panel", "aria-labelledby": headingId },
    tr(h("h2", { id: headingId }), "call.heading"),
    h("div", { class: "call-head" }, title, badges),
    idle,
    details,
    actions,
    warn,
    announce,
  );

  let lastCallState = "none";

  function render(): void {
    const call = state.call;
    const contact = currentContact();
    const agentState = state.agent?.state;
    const ringing = call.state === "ringing" || (phoneOffered() && call.state !== "active" && call.state !== "answering");
    // The bus says what the volunteer holds even when this browser's phone has no call (a
    // reload mid-call, or a phone elsewhere): shown, with the phone's buttons off.
    const phoneCall = call.state === "active" || call.state === "answering";
    const inCall = phoneCall || (!ringing && agentState === "busy" && contact !== null);
    el.dataset.call = inCall ? "active" : ringing ? "ringing" : "none";
    show(idle, !ringing && !inCall);
    show(details, (ringing || inCall) && contact !== null);
    show(actions, ringing || inCall);
    show(answer, ringing);
    answer.disabled = call.state !== "ringing";
    show(hold, inCall && !call.coaching); // a coaching call is the supervisor's to end, not hold
    show(mute, inCall);
    show(hangup, inCall);
    hold.disabled = call.state !== "active";
    mute.disabled = !phoneCall;
    hangup.disabled = !phone.hasCall;
    const activeTitle = call.coaching ? t("call.coaching") : call.held ? t("call.onHold") : t("call.active");
    setText(title, ringing ? t("call.incoming") : inCall ? activeTitle : "");
    setText(hold, call.held ? t("call.unhold") : t("call.hold"));
    hold.setAttribute("aria-pressed", String(call.held));
    setText(mute, call.muted ? t("call.unmute") : t("call.mute"));
    mute.setAttribute("aria-pressed", String(call.muted));
    badges.replaceChildren(
      ...(call.held ? [h("span", { class: "badge badge-warn" }, t("call.onHold"))] : []),
      ...(call.muted ? [h("span", { class: "badge badge-warn" }, t("call.muted"))] : []),
    );
    if (contact !== null) {
      setText(channel, categoryLabel("channel", contact.channel));
      const lineId = contact.line_id ?? null;
      for (const node of lineRow) show(node as HTMLElement, lineId !== null);
      setText(line, lineId ?? "");
      setText(language, contact.language ? categoryLabel("lang", contact.language) : t("lang.any"));
    }
    if (ringing && call.state !== "ringing" && state.sip !== "registered") {
      warn.textContent = t("call.noPhone");
      show(warn, true);
    } else show(warn, false);
    if (call.state !== lastCallState) {
      if (call.state === "ringing") {
        announce.textContent = t("call.incoming");
        // One key answers when the volunteer was not busy with another control.
        const active = document.activeElement;
        if (active === null || active === document.body || active.id === "workspace-main") {
          answer.focus();
        }
      }
      else if (call.state === "ended" && lastCallState !== "none") announce.textContent = t("call.ended");
      lastCallState = call.state;
    }
    tick();
  }

  function tick(): void {
    const contact = currentContact();
    const call = state.call;
    if (call.state === "active" || call.state === "answering" || (contact !== null && contact.answered_at !== null)) {
      setText(waitLabel, t("call.duration"));
      const started = contact?.answered_at ?? call.startedAt;
      setText(wait, started === null ? "" : duration(serverNow() - started));
    } else if (contact !== null) {
      setText(waitLabel, t("call.waited"));
      setText(wait, duration(serverNow() - contact.arrived_at));
    }
  }

  return { el, render, tick };
}
