// The supervisors' report page (/reports): pick a period and a language, then open the HTML
// report in a new tab or download the CSV or PDF (GET /api/v1/reports). The session is the
// workspace's cookie: someone not signed in is sent to the workspace to sign in first, a
// volunteer is told that reports are for supervisors (the API answers them 403 anyway).
import i18next from "i18next";
import { api, ApiError } from "../api";
import { h, id, keep, show, tr } from "../dom";
import { initI18n, lang, onLanguageChanged, t } from "../i18n";
import type { Boot, Me } from "../types";
import { buildLangSwitch } from "../views/lang";
import en from "./en.json";
import nl from "./nl.json";
import { MAX_DAYS, PRESETS, periodProblem, presetPeriod, reportUrl } from "./period";
import type { Period, Preset } from "./period";

const STAFF = new Set(["supervisor", "admin"]);

function readBoot(): Boot {
  try {
    return JSON.parse(document.getElementById("boot")?.textContent ?? "{}") as Boot;
  } catch {
    return {};
  }
}

/** The file name the server gave (Content-Disposition), else one made here. */
function fileName(resp: Response, fallback: string): string {
  const header = resp.headers.get("Content-Disposition") ?? "";
  const match = /filename="([^"]+)"/.exec(header);
  return match ? match[1] : fallback;
}

interface TranslatedText {
  (key: string | null, options?: Record<string, unknown>): void;
  /** A text that is not ours to translate (the server's). */
  text(value: string): void;
}

/** A message element whose text follows the page's language (``hides``: hidden when empty). */
function translatedText(el: HTMLElement, hides: boolean): TranslatedText {
  let current: { key: string; options?: Record<string, unknown> } | null = null;
  const apply = () => {
    if (current !== null) el.textContent = t(current.key, current.options);
  };
  const set = ((key: string | null, options?: Record<string, unknown>) => {
    current = key === null ? null : { key, options };
    if (key === null) el.textContent = "";
    apply();
    if (hides) show(el, key !== null);
  }) as TranslatedText;
  set.text = (value: string) => {
    current = null;
    el.textContent = value;
    if (hides) show(el, true);
  };
  onLanguageChanged(apply);
  return set;
}

function buildForm(): HTMLElement {
  const presetId = id("preset");
  const fromId = id("from");
  const toId = id("to");
  const messageId = id("report-message");
  const preset = h("select", { id: presetId });
  for (const name of [...PRESETS, "custom"]) {
    preset.append(tr(h("option", { value: name }), `reports.presets.${name}`));
  }
  const from = h("input", { id: fromId, type: "date", required: true, "aria-describedby": messageId });
  const to = h("input", { id: toId, type: "date", required: true, "aria-describedby": messageId });
  const langName = id("report-lang");
  const langChoices = (["nl", "en"] as const).map((code) => {
    const inputId = id(`report-lang-${code}`);
    const input = h("input", { id: inputId, type: "radio", name: langName, value: code });
    input.checked = code === lang();
    return h(
      "div",
      { class: "field field-check field-inline" },
      input,
      h("label", { for: inputId, lang: code }, code === "nl" ? "Nederlands" : "English"),
    );
  });
  const message = h("p", { id: messageId, class: "form-message", role: "alert", hidden: true });
  const progress = h("p", { class: "hint report-progress", role: "status", "aria-live": "polite" });
  const openLink = h("a", { class: "btn btn-primary", target: "_blank", rel: "noopener" });
  const openText = tr(h("span"), "reports.open");
  const openHint = tr(h("span", { class: "visually-hidden" }), "reports.openHint");
  openLink.append(openText, " ", openHint);
  const csv = tr(h("button", { type: "button", class: "btn" }), "reports.csv");
  const pdf = tr(h("button", { type: "button", class: "btn" }), "reports.pdf");

  const period = (): Period => ({ from: from.value, to: to.value });
  const reportLang = (): string =>
    langChoices.map((c) => c.querySelector("input") as HTMLInputElement).find((i) => i.checked)?.value ?? lang();
  const say = translatedText(message, true);
  const tell = translatedText(progress, false);
  const update = () => {
    openLink.href = reportUrl(period(), "html", reportLang());
  };
  const check = (): boolean => {
    const problem = periodProblem(period());
    say(problem, { days: MAX_DAYS });
    if (problem !== null) (from.value === "" ? from : to).focus();
    return problem === null;
  };
  const applyPreset = () => {
    if (preset.value === "custom") return;
    const chosen = presetPeriod(preset.value as Preset, new Date());
    from.value = chosen.from;
    to.value = chosen.to;
    say(null);
    update();
  };
  preset.addEventListener("change", applyPreset);
  for (const input of [from, to]) {
    input.addEventListener("input", () => {
      preset.value = "custom";
      update();
    });
  }
  for (const choice of langChoices) choice.addEventListener("change", update);
  preset.value = "today";
  applyPreset();

  openLink.addEventListener("click", (event) => {
    update();
    if (!check()) event.preventDefault();
  });

  let busy = false;
  const download = async (format: "csv" | "pdf", button: HTMLButtonElement) => {
    if (busy || !check()) return;
    busy = true;
    button.disabled = true;
    tell("reports.busy");
    try {
      const resp = await fetch(reportUrl(period(), format, reportLang()), {
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!resp.ok) {
        tell(null);
        if (resp.status === 401) say("reports.signInFirst");
        else if (resp.status === 429)
          say("reports.errBusy", { seconds: Number(resp.headers.get("Retry-After")) || 5 });
        else if (resp.status === 400) {
          const body = (await resp.json().catch(() => ({}))) as { message?: string };
          // The server's message names the field (and is English): shown as it is.
          if (body.message) say.text(body.message);
          else say("reports.errUnavailable");
        } else say("reports.errUnavailable");
        return;
      }
      const name = fileName(resp, `helpline-report.${format}`);
      const url = URL.createObjectURL(await resp.blob());
      const save = h("a", { href: url, download: name, hidden: true });
      document.body.append(save);
      save.click();
      save.remove();
      // The browser has the file once the click is handled; the URL is then freed.
      window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
      say(null);
      tell("reports.done", { file: name });
    } catch {
      tell(null);
      say("reports.errUnavailable");
    } finally {
      busy = false;
      button.disabled = false;
    }
  };
  csv.addEventListener("click", () => void download("csv", csv));
  pdf.addEventListener("click", () => void download("pdf", pdf));

  const legendPeriod = tr(h("legend"), "reports.period");
  const legendLang = tr(h("legend"), "reports.reportLang");
  return h(
    "form",
    { class: "report-form", novalidate: true },
    h(
      "fieldset",
      { class: "report-period" },
      legendPeriod,
      h("div", { class: "field" }, tr(h("label", { for: presetId }), "reports.preset"), preset),
      h("div", { class: "field" }, tr(h("label", { for: fromId }), "reports.from"), from),
      h("div", { class: "field" }, tr(h("label", { for: toId }), "reports.to"), to),
    ),
    h("fieldset", { class: "report-lang" }, legendLang, ...langChoices),
    message,
    h("div", { class: "actions" }, openLink, csv, pdf),
    progress,
  );
}

async function main(): Promise<void> {
  await initI18n();
  i18next.addResourceBundle("nl", "translation", nl, true, false);
  i18next.addResourceBundle("en", "translation", en, true, false);
  const boot = readBoot();
  const root = document.getElementById("app") as HTMLElement;
  const skip = tr(h("a", { class: "skip-link", href: "#reports-main" }), "reports.skip");
  const who = h("p", { class: "who" });
  const back = tr(h("a", { class: "btn btn-quiet", href: "/" }), "reports.toWorkspace");
  const header = h(
    "header",
    { class: "topbar" },
    h(
      "div",
      { class: "brand" },
      h("span", { class: "brand-name" }, boot.helpline ?? t("app.helpline")),
      tr(h("span", { class: "brand-sub" }), "reports.title"),
    ),
    who,
    buildLangSwitch(),
    back,
  );
  const body = h("section", { class: "panel report-panel" });
  const main = h(
    "main",
    { id: "reports-main", class: "reports", tabindex: -1 },
    tr(h("h1"), "reports.title"),
    body,
  );
  const page = h("div", { class: "reports-page" }, skip, header, main);
  keep(page);
  const translateTitle = () => {
    document.title = t("reports.title");
  };
  translateTitle();
  onLanguageChanged(translateTitle);
  root.replaceChildren(page);

  let me: Me | null = null;
  try {
    me = await api.get<Me>("/api/v1/me");
  } catch (exc) {
    if (!(exc instanceof ApiError && exc.status === 401)) {
      body.append(tr(h("p", { class: "warning", role: "alert" }), "reports.errUnavailable"));
      return;
    }
  }
  if (me === null) {
    body.append(
      tr(h("p", { class: "warning" }), "reports.signInFirst"),
      tr(h("a", { class: "btn btn-primary", href: "/" }), "reports.toWorkspace"),
    );
    return;
  }
  who.textContent = me.volunteer.name;
  if (!STAFF.has(me.volunteer.role)) {
    body.append(tr(h("p", { class: "warning" }), "reports.notSupervisor"));
    return;
  }
  body.append(
    tr(h("p", { class: "muted" }), "reports.intro"),
    buildForm(),
    tr(h("p", { class: "hint" }), "reports.definitions"),
  );
}

void main();
