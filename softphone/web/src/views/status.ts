// The header (who, where, connection state, language, end of shift) and the one big state
// control: ready / pause with a reason / wrap-up with its timer / signed out.
import { api, ApiError } from "../api";
import { h, id, setText, show, tr } from "../dom";
import { categoryLabel, lang, t } from "../i18n";
import { buildLangSwitch } from "./lang";
import { clock, duration } from "../format";
import { changed, serverNow, state } from "../store";
import type { Category, Me } from "../types";

export interface Header {
  el: HTMLElement;
  render(): void;
}

export function buildHeader(boot: { helpline?: string }, onSignOut: () => void): Header {
  const who = h("p", { class: "who" });
  const live = h("span", { class: "pill" });
  const sip = h("span", { class: "pill" });
  const conn = h(
    "div",
    { class: "conn", role: "status", "aria-live": "polite" },
    live,
    sip,
  );
  const langGroup = buildLangSwitch();
  // Supervisors' reports open in a tab of their own: leaving this page would end the phone.
  const reports = tr(
    h("a", { class: "btn btn-quiet reports-link", href: "/reports", target: "_blank", rel: "noopener", hidden: true }),
    "app.reports",
  );
  const signOut = tr(h("button", { type: "button", class: "btn btn-quiet signout" }), "app.signOut");
  signOut.addEventListener("click", onSignOut);
  const el = h(
    "header",
    { class: "topbar" },
    h(
      "div",
      { class: "brand" },
      h("span", { class: "brand-name" }, boot.helpline ?? t("app.helpline")),
      tr(h("span", { class: "brand-sub" }), "app.title"),
    ),
    who,
    conn,
    langGroup,
    reports,
    signOut,
  );
  return {
    el,
    render() {
      const me = state.me;
      setText(who, me ? `${me.volunteer.name} · ${locationName(me)}` : "");
      show(reports, me !== null && (me.volunteer.role === "supervisor" || me.volunteer.role === "admin"));
      setText(live, `${t("conn.live")}: ${t("conn.live_" + state.live)}`);
      live.className = `pill pill-${state.live === "connected" ? "ok" : "warn"}`;
      // A desk phone's registration is the ACD's to know (the bus's phone_registered).
      const external = state.sip === "external";
      const ok = external ? state.agent?.phone_registered === true : state.sip === "registered";
      const sipText = external
        ? t(ok ? "conn.sip_external_registered" : "conn.sip_external_unregistered")
        : t("conn.sip_" + state.sip);
      // A volunteer who takes no calls (chats only) has no phone to worry about.
      const noCalls = state.agent?.skills !== undefined && !state.agent.skills.includes("phone");
      setText(sip, `${t("conn.sip")}: ${noCalls ? t("conn.sip_none") : sipText}`);
      sip.className = `pill pill-${noCalls ? "idle" : ok ? "ok" : state.sip === "off" ? "idle" : "warn"}`;
      const agentState = state.agent?.state;
      // Signing out in the middle of a call would drop the child: not while one rings or runs.
      signOut.disabled = state.call.state === "ringing" || state.call.state === "active" || agentState === "offered" || agentState === "busy";
    },
  };
}

/** A pause reason's label: the configured one (GET /api/v1/workspace), else ours. */
function reasonLabel(reason: string): string {
  const configured = state.workspace?.pause_reasons.find((r) => (typeof r === "string" ? r : r.id) === reason);
  return categoryLabel("reason", configured ?? reason);
}

let locationNames: Map<string, string> = new Map();
export function setLocations(list: { id: string; name: string }[] | undefined): void {
  locationNames = new Map((list ?? []).map((l) => [l.id, l.name]));
}
function locationName(me: Me): string {
  return locationLabel(me.location);
}
/** A location's configured name (the page's boot data), else its id. */
export function locationLabel(locationId: string): string {
  return locationNames.get(locationId) ?? locationId;
}

export interface StateControl {
  el: HTMLElement;
  render(): void;
  tick(): void;
}

export function buildStateControl(onSessionGone: () => void): StateControl {
  const headingId = id("state-heading");
  const reasonId = id("pause-reason");
  const name = h("p", { class: "state-name" });
  const detail = h("p", { class: "state-detail" });
  const big = h("button", { type: "button", class: "btn btn-big" });
  const reason = h("select", { id: reasonId });
  const reasonField = h(
    "div",
    { class: "field field-inline" },
    tr(h("label", { for: reasonId }), "state.pauseReason"),
    reason,
  );
  const warn = h("p", { class: "warning", hidden: true });
  const error = h("p", { class: "form-message", role: "alert", hidden: true });
  const el = h(
    "section",
    { class: "panel state-panel", "aria-labelledby": headingId },
    tr(h("h2", { id: headingId }), "state.heading"),
    h("div", { class: "state-line", role: "status", "aria-live": "polite" }, name, detail),
    h("div", { class: "control" }, big, reasonField),
    warn,
    error,
  );

  let reasonsFrom: unknown = undefined;
  let reasonsLang = "";
  let busy = false;
  const renderReasons = () => {
    // Rebuilt when the lists (or their labels' language) change.
    if (reasonsFrom === state.workspace && reasonsLang === lang()) return;
    reasonsFrom = state.workspace;
    reasonsLang = lang();
    const reasons = state.workspace?.pause_reasons ?? [];
    const previous = reason.value;
    reason.replaceChildren(
      ...reasons.map((r: Category | string) => {
        const value = typeof r === "string" ? r : r.id;
        return h("option", { value }, categoryLabel("reason", r));
      }),
    );
    if (previous) reason.value = previous;
  };

  const act = async (path: string, body?: unknown) => {
    if (busy) return;
    busy = true;
    big.disabled = true;
    show(error, false);
    try {
      const me = await api.post<Me>(path, body);
      if (me.agent !== undefined) state.agent = me.agent;
      changed();
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) onSessionGone();
      else {
        error.textContent = t("state.refused", {
          message: exc instanceof ApiError ? exc.message : t("err.network"),
        });
        show(error, true);
      }
    } finally {
      busy = false;
      big.disabled = false;
      render();
    }
  };

  big.addEventListener("click", () => {
    const agent = state.agent;
    if (agent === null) {
      onSessionGone();
      return;
    }
    if (agent.state === "paused") void act("/api/v1/me/ready");
    else if (reason.value) void act("/api/v1/me/pause", { reason: reason.value });
  });

  function render(): void {
    renderReasons();
    const agent = state.agent;
    const st = agent?.state ?? "logged_out";
    el.dataset.state = st;
    setText(name, t("state." + st));
    const pending = agent?.pending_pause ?? null;
    let bigKey: string | null = null;
    let withReason = false;
    switch (st) {
      case "paused":
        bigKey = "state.goReady";
        break;
      case "available":
        bigKey = "state.pause";
        withReason = true;
        break;
      case "offered":
      case "busy":
      case "wrap_up":
        // Asked now, the pause starts when the contact and its wrap-up are done.
        if (pending === null) {
          bigKey = st === "wrap_up" ? "state.pauseAfterWrap" : "state.pauseAfter";
          withReason = true;
        }
        break;
      default:
        bigKey = "signin.submit";
    }
    show(big, bigKey !== null);
    if (bigKey !== null) setText(big, t(bigKey));
    big.className = `btn btn-big ${st === "paused" ? "btn-go" : st === "logged_out" ? "btn-primary" : "btn-pause"}`;
    const reasons = state.workspace?.pause_reasons ?? [];
    show(reasonField, withReason && reasons.length > 0);
    if (withReason && reasons.length === 0) big.disabled = true;
    else if (!busy) big.disabled = false;
    // A volunteer who takes no calls (a young volunteer: chats only) needs no phone.
    const takesCalls = agent?.skills === undefined || agent.skills.includes("phone");
    if (st === "logged_out") {
      warn.textContent = t("state.noAgent");
      show(warn, true);
    } else if (!takesCalls) {
      show(warn, false);
    } else if (agent !== null && !agent.phone_registered && state.sip !== "registered" && state.sip !== "external") {
      warn.textContent = t("state.phoneNeeded");
      show(warn, true);
    } else if (agent !== null && !agent.phone_registered && state.sip === "external") {
      warn.textContent = t("state.phoneNeeded");
      show(warn, true);
    } else show(warn, false);
    tick();
  }

  function tick(): void {
    const agent = state.agent;
    if (agent === null) {
      setText(detail, "");
      return;
    }
    let text: string;
    if (agent.state === "wrap_up") {
      const left = agent.wrap_until === null ? null : agent.wrap_until - serverNow();
      text = left === null ? "" : left > 0 ? t("state.wrapLeft", { time: duration(left) }) : t("state.wrapOver");
      if (agent.pending_pause) text += " · " + t("state.pendingPause", { reason: reasonLabel(agent.pending_pause) });
    } else if (agent.state === "paused") {
      text = `${t("state.pausedBecause", { reason: reasonLabel(agent.reason || "other") })} · ${t("state.since", { time: clock(agent.since) })}`;
    } else if (agent.pending_pause) {
      text = t("state.pendingPause", { reason: reasonLabel(agent.pending_pause) });
    } else {
      text = t("state.since", { time: clock(agent.since) });
    }
    // Ready, yet no contact comes while she coaches: say why (the core offers her nothing).
    if (agent.coaching) text += (text ? " · " : "") + t("state.coachingNow");
    setText(detail, text);
  }

  return { el, render, tick };
}
