// The supervisors' wallboard (/wallboard): the queue's `board` from the live state bus (the
// same /api/v1/live socket a supervisor's session gets), redrawn on every snapshot and delta.
// Nothing is polled: the one timer only advances the "longest wait" display between deltas.
// Two modes: compact (a desk) and large screen (a TV on the wall); Dutch and English.
import i18next from "i18next";
import { api, ApiError, setCsrfToken } from "../api";
import { h, keep, setText, tr } from "../dom";
import { duration } from "../format";
import { categoryLabel, initI18n, lang, onLanguageChanged, t } from "../i18n";
import type { Boot, Me } from "../types";
import { buildLangSwitch } from "../views/lang";
import { buildSignIn } from "../views/signin";
import en from "../../locales/wallboard.en.json";
import nl from "../../locales/wallboard.nl.json";
import { Board, BoardSocket, KINDS, KindFigures, Live, STATES } from "./socket";

const MODE_KEY = "helpline.wallboard.mode";
type Mode = "compact" | "large";

function readBoot(): Boot {
  try {
    return JSON.parse(document.getElementById("boot")?.textContent ?? "{}") as Boot;
  } catch {
    return {};
  }
}

function savedMode(): Mode {
  try {
    return localStorage.getItem(MODE_KEY) === "large" ? "large" : "compact";
  } catch {
    return "compact";
  }
}

const percent = (value: number | null) => (value === null ? "–" : `${Math.round(value * 100)}%`);
const seconds = (value: number | null) => (value === null ? "–" : duration(value));
const tw = (key: string, options?: Record<string, unknown>) => t(`wallboard.${key}`, options);

interface Row {
  key: string;
  label: () => string;
  value: (figures: KindFigures, now: number) => string;
}

function rows(): Row[] {
  const out: Row[] = [
    { key: "waiting", label: () => tw("row.waiting"), value: (f) => String(f.waiting) },
    {
      key: "longest",
      label: () => tw("row.longest"),
      value: (f, now) => (f.longest_wait_since === null ? "–" : duration(now - f.longest_wait_since)),
    },
    { key: "in_contact", label: () => tw("row.in_contact"), value: (f) => String(f.in_contact) },
    { key: "answered", label: () => tw("row.answered"), value: (f) => String(f.answered) },
    { key: "abandoned", label: () => tw("row.abandoned"), value: (f) => String(f.abandoned) },
    { key: "overflowed", label: () => tw("row.overflowed"), value: (f) => String(f.overflowed) },
  ];
  for (const s of ["20", "60"]) {
    out.push({
      key: `sl${s}a`,
      label: () => tw("row.sl_answered_only", { s }),
      value: (f) => percent(f.service_level[s]?.answered_only ?? null),
    });
    out.push({
      key: `sl${s}b`,
      label: () => tw("row.sl_with_abandons", { s }),
      value: (f) => percent(f.service_level[s]?.with_abandons ?? null),
    });
  }
  out.push({ key: "asa", label: () => tw("row.asa"), value: (f) => seconds(f.asa_s) });
  out.push({ key: "aht", label: () => tw("row.aht"), value: (f) => seconds(f.aht_s) });
  return out;
}

function buildBoard(onSignOut: () => void) {
  const live = h("span", { class: "pill", role: "status" });
  const updated = h("span", { class: "muted updated" });
  const modeButtons = (["compact", "large"] as Mode[]).map((mode) =>
    tr(h("button", { type: "button", class: "btn btn-small", "data-mode": mode }), `wallboard.${mode}`),
  );
  const modeGroup = h("div", { class: "lang-switch", role: "group" }, ...modeButtons);
  tr(modeGroup, "wallboard.modes", undefined, "aria-label");
  const signOut = tr(h("button", { type: "button", class: "btn btn-small" }), "wallboard.signOut");
  signOut.addEventListener("click", onSignOut);
  const setMode = (mode: Mode) => {
    document.body.classList.toggle("wb-large", mode === "large");
    document.body.classList.toggle("wb-compact", mode === "compact");
    for (const b of modeButtons) b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
    try {
      localStorage.setItem(MODE_KEY, mode);
    } catch {
      // private mode: for this page only
    }
  };
  for (const b of modeButtons) b.addEventListener("click", () => setMode(b.dataset.mode as Mode));
  setMode(savedMode());

  // The channel table: a row per figure, a column per kind; cells updated in place.
  const table = h("table", { class: "wb-table" });
  const caption = tr(h("caption", { class: "visually-hidden" }), "wallboard.channelsCaption");
  const headRow = h("tr", {}, tr(h("th", { scope: "col" }), "wallboard.measure"));
  for (const kind of KINDS) headRow.append(tr(h("th", { scope: "col", "data-kind": kind }), `wallboard.kind.${kind}`));
  const body = h("tbody");
  const cells = new Map<string, HTMLElement>();
  const allRows = rows();
  for (const row of allRows) {
    const label = h("th", { scope: "row" });
    const tr_ = h("tr", { "data-row": row.key }, label);
    for (const kind of KINDS) {
      const cell = h("td", { "data-kind": kind }, "–");
      cells.set(`${row.key}:${kind}`, cell);
      tr_.append(cell);
    }
    body.append(tr_);
  }
  const labelRows = () => {
    allRows.forEach((row, i) => setText(body.rows[i].cells[0], row.label()));
  };
  labelRows();
  table.append(caption, h("thead", {}, headRow), body);
  const definitions = h("p", { class: "muted wb-defs" });
  // After a restart or takeover: from when today's counts and the wrap-up in AHT are known.
  const seedNote = h("p", { class: "wb-note", hidden: true });

  const states = h("ul", { class: "wb-states" });
  const paused = h("ul", { class: "wb-list" });
  const locations = h("table", { class: "wb-table wb-locations" });
  const transfers = h("p", { class: "wb-transfers" });
  // Counted in their state too (often "ready"), but offered nothing while they coach.
  const coaching = h("p", { class: "wb-coaching" });
  const lines = h("ul", { class: "wb-list wb-lines" });
  const alerts = h("ul", { class: "wb-alerts", "aria-live": "polite" });

  const section = (area: string, key: string, ...children: (Node | string)[]) => {
    const heading = tr(h("h2"), key);
    return h("section", { class: `panel wb-panel wb-area-${area}` }, heading, ...children);
  };
  const main = h(
    "main",
    { id: "wb-main", class: "wb-grid", tabindex: -1 },
    section("alerts", "wallboard.alerts", alerts),
    section("channels", "wallboard.channels", table, seedNote, definitions),
    h(
      "div",
      { class: "wb-side" },
      section("volunteers", "wallboard.volunteers", states, tr(h("h3"), "wallboard.pausedBy"), paused, transfers, coaching),
      section("locations", "wallboard.locations", h("div", { class: "wb-scroll" }, locations)),
    ),
    section("lines", "wallboard.lines", lines),
  );
  const title = tr(h("h1"), "wallboard.heading");
  const skip = tr(h("a", { class: "skip-link", href: "#wb-main" }), "wallboard.skip");
  const el = h(
    "div",
    { class: "wb" },
    skip,
    h("header", { class: "wb-header" }, title, h("div", { class: "wb-tools" }, live, updated, modeGroup, buildLangSwitch(), signOut)),
    main,
  );

  let board: Board | null = null;
  let skew = 0;
  let lastAt = 0;
  const time = (at: number) =>
    new Date(at * 1000).toLocaleTimeString(lang() === "en" ? "en-GB" : "nl-NL", {
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });

  const tick = () => {
    if (board === null) return;
    const now = Date.now() / 1000 + skew;
    for (const kind of KINDS) {
      const figures = board.kinds[kind];
      for (const row of allRows) {
        const cell = cells.get(`${row.key}:${kind}`);
        if (cell) setText(cell, row.value(figures, now));
      }
    }
  };

  const render = () => {
    if (board === null) return;
    tick();
    setText(definitions, tw("definitions"));
    const notes: string[] = [];
    if (board.today_from != null) notes.push(tw("todayFrom", { time: time(board.today_from) }));
    if (board.wrap_up_from != null) notes.push(tw("wrapUpFrom", { time: time(board.wrap_up_from) }));
    setText(seedNote, notes.join(" "));
    seedNote.hidden = notes.length === 0;
    setText(updated, lastAt ? tw("updated", { time: time(lastAt) }) : "");
    states.replaceChildren(
      ...STATES.map((state) =>
        h("li", { "data-state": state }, h("span", { class: "wb-num" }, String(board?.agents[state] ?? 0)), " ", tw(`state.${state}`)),
      ),
    );
    const reasons = Object.entries(board.paused_by_reason);
    paused.replaceChildren(
      ...(reasons.length === 0
        ? [h("li", { class: "muted" }, tw("noPauses"))]
        : reasons.map(([reason, n]) => h("li", {}, h("span", { class: "wb-num" }, String(n)), " ", categoryLabel("reason", reason || "none")))),
    );
    setText(transfers, `${tw("transfers")}: ${board.transfers}`);
    setText(coaching, `${tw("coaching")}: ${board.coaching}`);
    const locs = Object.entries(board.locations);
    const head = h("tr", {}, h("th", { scope: "col" }, tw("location")), ...STATES.map((s) => h("th", { scope: "col" }, tw(`state.${s}`))));
    locations.replaceChildren(
      h("caption", { class: "visually-hidden" }, tw("locations")),
      h("thead", {}, head),
      h(
        "tbody",
        {},
        ...(locs.length === 0
          ? [h("tr", {}, h("td", { colspan: STATES.length + 1, class: "muted" }, tw("noLocations")))]
          : locs.map(([loc, counts]) =>
              h("tr", { "data-location": loc }, h("th", { scope: "row" }, locationName(loc)), ...STATES.map((s) => h("td", {}, String(counts[s] ?? 0)))),
            )),
      ),
    );
    const openPill = (open: boolean) => h("span", { class: open ? "pill pill-ok" : "pill pill-closed" }, open ? tw("open") : tw("closed"));
    lines.replaceChildren(
      ...board.lines.map((line) => h("li", {}, `${line.line} · ${tw(`kind.${line.channel}`, { defaultValue: line.channel })} `, openPill(line.open))),
      ...board.partners.map((partner) => h("li", {}, `${partner.name} `, openPill(partner.open))),
    );
    alerts.replaceChildren(
      ...(board.alerts.length === 0
        ? [h("li", { class: "wb-ok" }, tw("noAlerts"))]
        : board.alerts.map((alert) =>
            h(
              "li",
              { class: "wb-alert", "data-alert": alert.kind },
              tw(`alert.${alert.kind}`, {
                time: time(alert.since ?? alert.at ?? 0),
                kind: tw(`kind.${alert.channel ?? "total"}`),
                waiting: alert.waiting,
                threshold: alert.threshold,
                agent: alert.agent_id,
              }),
            ),
          )),
    );
  };

  onLanguageChanged(() => {
    labelRows();
    render();
  });

  return {
    el,
    focus: () => title.focus(),
    setLive: (state: Live) => {
      setText(live, tw(`live.${state}`));
      live.className = state === "connected" ? "pill pill-ok" : "pill";
    },
    setBoard: (next: Board, at: number) => {
      board = next;
      lastAt = at;
      skew = at - Date.now() / 1000;
      render();
    },
    tick,
  };
}

let locationNames = new Map<string, string>();
const locationName = (id: string) => locationNames.get(id) ?? id;

async function main(): Promise<void> {
  await initI18n();
  i18next.addResourceBundle("nl", "translation", { wallboard: nl }, true, true);
  i18next.addResourceBundle("en", "translation", { wallboard: en }, true, true);
  const boot = readBoot();
  locationNames = new Map((boot.locations ?? []).map((l) => [l.id, l.name]));
  const root = document.getElementById("app") as HTMLElement;
  const translateTitle = () => {
    document.title = tw("title");
  };
  translateTitle();
  onLanguageChanged(translateTitle);

  const denied = h("main", { class: "signin" }, h("p", { class: "warning", role: "alert" }));
  const show = (el: HTMLElement) => root.replaceChildren(el);
  let socket: BoardSocket | null = null;

  const board = buildBoard(async () => {
    socket?.stop();
    try {
      await api.del("/api/v1/session");
    } catch {
      // signed out already
    }
    location.reload();
  });
  keep(board.el);

  const enter = (me: Me) => {
    setCsrfToken(me.csrf_token ?? null);
    if (me.volunteer.role !== "supervisor" && me.volunteer.role !== "admin") {
      setText(denied.firstChild as HTMLElement, tw("supervisorsOnly"));
      show(denied);
      return;
    }
    show(board.el);
    board.focus();
    socket = new BoardSocket(board.setBoard, board.setLive, () => location.reload());
    socket.start();
    window.setInterval(board.tick, 1000); // the display of waits only; asks the server nothing
  };

  try {
    enter(await api.get<Me>("/api/v1/me"));
  } catch (exc) {
    if (!(exc instanceof ApiError && exc.status === 401)) throw exc;
    const signIn = buildSignIn(boot, enter, { watch_only: true });
    keep(signIn.el);
    show(signIn.el);
    signIn.focus();
  }
  // For the browser tests: read-only figures (nothing about anyone).
  (window as unknown as { helplineWallboard: unknown }).helplineWallboard = {
    board: () => socket?.board ?? null,
    receivedAt: () => socket?.receivedAt ?? null,
  };
}

void main();
