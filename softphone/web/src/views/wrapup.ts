// The wrap-up form = the anonymous registration: contact type, topics (with sub-categories),
// age band, gender, the referral made by a transfer (pre-filled, read only), notes only where
// the helpline enabled them. Saving ends the wrap-up. No free text unless notes are enabled.
import { api, ApiError } from "../api";
import { h, id, show, tr } from "../dom";
import { t } from "../i18n";
import { current, registrationForm, type RegistrationTarget } from "./regform";
import { changed, state } from "../store";
import type { AgentView, Partner, RegistrationState } from "../types";

export interface WrapUpPanel {
  el: HTMLElement;
  render(): void;
}

export function buildWrapUpPanel(onSessionGone: () => void): WrapUpPanel {
  const headingId = id("wrapup-heading");
  const msgId = id("wrapup-message");
  const body = h("div", { class: "wrapup-body" });
  const message = h("p", { id: msgId, class: "form-message", role: "alert", hidden: true });
  const done = h("p", { class: "success", role: "status", hidden: true });
  const el = h(
    "section",
    { class: "panel wrapup-panel", "aria-labelledby": headingId, hidden: true },
    tr(h("h2", { id: headingId }), "wrapup.heading"),
    tr(h("p", { class: "muted" }), "wrapup.intro"),
    body,
    message,
    done,
  );

  let loadedFor: string | null = null; // which wrap-up the form was built for
  let drawnWith: unknown = null; // the workspace lists it was drawn with (labels change with them)
  let registration: RegistrationState | null = null;
  let partnerNames = new Map<string, string>();
  let form: HTMLFormElement | null = null;
  let saved = false;

  const say = (text: string | null) => {
    message.textContent = text ?? "";
    show(message, text !== null);
  };

  async function load(key: string): Promise<void> {
    loadedFor = key;
    saved = false;
    form = null;
    say(null);
    show(done, false);
    body.replaceChildren();
    try {
      registration = await api.get<RegistrationState | null>("/api/v1/me/registration");
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) return onSessionGone();
      registration = null;
      drawNothing(exc instanceof ApiError && exc.status === 404 ? "wrapup.nothing" : "wrapup.unavailable");
      return;
    }
    if (loadedFor !== key) return;
    changed(); // shown or not depends on what it is (a chat with a tab of its own)
    if (registration === null) {
      drawNothing("wrapup.nothing");
      return;
    }
    if (registration.referral !== null) await loadPartnerNames();
    if (registration.saved && registration.registration) {
      saved = true;
      drawSaved();
      return;
    }
    draw();
  }

  async function loadPartnerNames(): Promise<void> {
    try {
      const result = await api.get<{ partners: Partner[] }>("/api/v1/partners");
      partnerNames = new Map(result.partners.map((p) => [p.id, p.name]));
    } catch {
      // The id is shown instead.
    }
  }

  function drawNothing(key: string): void {
    // No contact to register (or no form here): the volunteer can still end the wrap-up.
    const end = tr(h("button", { type: "button", class: "btn btn-primary" }), "wrapup.endWrapUp");
    end.addEventListener("click", async () => {
      try {
        const result = await api.post<{ agent?: AgentView | null }>("/api/v1/me/wrap-up/end");
        if (result.agent !== undefined) state.agent = result.agent;
        changed();
      } catch (exc) {
        if (exc instanceof ApiError && exc.status === 401) return onSessionGone();
        say(t("wrapup.error", { message: exc instanceof ApiError ? exc.message : t("err.network") }));
      }
    });
    body.replaceChildren(tr(h("p", {}), key), end);
  }

  function drawSaved(): void {
    body.replaceChildren();
    form = null;
    done.textContent = t("wrapup.saved");
    show(done, true);
  }

  /** Build the form from the workspace lists, keeping what was already chosen. */
  function draw(): void {
    if (registration === null) return;
    drawnWith = state.workspace;
    const target: RegistrationTarget = {
      contactId: registration.contact_id,
      referral: registration.referral,
      partnerNames,
      before: form ? current(form) : (registration.registration ?? null),
    };
    const next = registrationForm(target, {
      say,
      done: () => {
        saved = true;
        drawSaved();
      },
      sessionGone: onSessionGone,
    });
    form = next;
    body.replaceChildren(next);
  }

  function render(): void {
    const agent = state.agent;
    const inWrapUp = agent?.state === "wrap_up";
    // A chat is registered in its own tab while that is open.
    const inChatTab = registration !== null && state.chats.has(registration.contact_id);
    show(el, !inChatTab && (inWrapUp || (saved && loadedFor !== null && agent?.state !== "busy" && agent?.state !== "offered")));
    if (inWrapUp) {
      const key = `${agent?.wrap_until ?? ""}:${agent?.handled ?? ""}`;
      if (key !== loadedFor) void load(key);
      else if (form !== null && drawnWith !== state.workspace) draw(); // new labels (language)
    } else if (agent?.state === "busy" || agent?.state === "offered") {
      loadedFor = null;
      saved = false;
      form = null;
      show(done, false);
    }
  }

  return { el, render };
}
