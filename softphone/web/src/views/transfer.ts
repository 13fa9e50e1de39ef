// The warm transfer: pick a partner that is open now, record the child's consent (required),
// optionally a region, then consult first or go three-way at once. Each step is shown as the
// live bus reports it (``transfer`` deltas), with the actions that step allows.
import { api, ApiError } from "../api";
import { h, id, setText, show, tr } from "../dom";
import { categoryLabel, humanize, t } from "../i18n";
import { clock, when } from "../format";
import { changed, currentContact, currentTransfer, state } from "../store";
import type { Partner, TransferView } from "../types";

const RUNNING = new Set(["dialing", "dialing_direct", "consult", "conference", "handed_over"]);
const STEPS: Record<string, string[]> = {
  dialing: ["cancel"],
  dialing_direct: ["cancel"],
  consult: ["conference", "cancel"],
  conference: ["leave", "stay", "cancel"],
};

export interface TransferPanel {
  el: HTMLElement;
  render(): void;
}

export function buildTransferPanel(onSessionGone: () => void): TransferPanel {
  const headingId = id("transfer-heading");
  const formId = id("transfer-form");
  const consentId = id("consent");
  const regionId = id("region");
  const msgId = id("transfer-message");
  const toggle = h("button", { type: "button", class: "btn", "aria-expanded": "false", "aria-controls": formId });
  const partnersBox = h("fieldset", { class: "partners" });
  const consent = h("input", { type: "checkbox", id: consentId, required: true, "aria-describedby": msgId });
  const region = h("select", { id: regionId });
  const consult = tr(h("button", { type: "submit", class: "btn btn-primary", value: "consult" }), "transfer.consult");
  const direct = tr(h("button", { type: "submit", class: "btn", value: "direct" }), "transfer.direct");
  const message = h("p", { id: msgId, class: "form-message", role: "alert", hidden: true });
  const form = h(
    "form",
    { id: formId, class: "transfer-form", hidden: true, novalidate: true },
    partnersBox,
    h("div", { class: "field field-check" }, consent, tr(h("label", { for: consentId }), "transfer.consent")),
    h("div", { class: "field" }, tr(h("label", { for: regionId }), "transfer.region"), region),
    message,
    h("div", { class: "actions" }, consult, direct),
  );
  const status = h("p", { class: "transfer-status", role: "status", "aria-live": "polite" });
  const log = h("ol", { class: "transfer-log" });
  const logBox = h("div", { class: "transfer-steps" }, tr(h("h3", {}), "transfer.steps"), log);
  const stepButtons: Record<string, HTMLButtonElement> = {};
  for (const step of ["conference", "leave", "stay", "cancel"]) {
    const button = tr(
      h("button", { type: "button", class: `btn ${step === "cancel" ? "btn-stop" : step === "conference" ? "btn-primary" : ""}` }),
      `transfer.${step}`,
    );
    button.addEventListener("click", () => void doStep(step));
    stepButtons[step] = button;
  }
  const stepBox = h("div", { class: "actions" }, ...Object.values(stepButtons));
  const stayed = tr(h("p", { class: "muted", hidden: true }), "transfer.stayed");
  const el = h(
    "section",
    { class: "panel transfer-panel", "aria-labelledby": headingId, hidden: true },
    tr(h("h2", { id: headingId }), "transfer.heading"),
    tr(h("p", { class: "muted" }), "transfer.intro"),
    toggle,
    form,
    status,
    stepBox,
    stayed,
    logBox,
  );

  let partners: Partner[] = [];
  let open = false;
  let sending = false;

  const say = (text: string | null) => {
    message.textContent = text ?? "";
    show(message, text !== null);
  };

  toggle.addEventListener("click", () => {
    open = !open;
    if (open) void loadPartners();
    render();
    if (open) (partnersBox.querySelector("input:not([disabled])") as HTMLElement | null)?.focus();
  });

  async function loadPartners(): Promise<void> {
    partnersBox.replaceChildren(tr(h("legend", {}), "transfer.partners"), tr(h("p", { class: "muted" }), "transfer.loading"));
    try {
      const body = await api.get<{ partners: Partner[] }>("/api/v1/partners");
      partners = body.partners;
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) return onSessionGone();
      partners = [];
      say(exc instanceof ApiError ? exc.message : t("err.network"));
    }
    drawPartners();
  }

  function drawPartners(): void {
    const legend = tr(h("legend", {}), "transfer.partners");
    if (partners.length === 0) {
      partnersBox.replaceChildren(legend, tr(h("p", { class: "muted" }), "transfer.none"));
      return;
    }
    const items = partners.map((partner) => {
      const inputId = id("partner");
      const input = h("input", { type: "radio", name: "partner", value: partner.id, id: inputId, disabled: !partner.open_now });
      input.addEventListener("change", drawRegions);
      const hours = partner.open_now
        ? partner.closes_at
          ? t("transfer.closesAt", { time: when(partner.closes_at) })
          : t("transfer.openNow")
        : partner.opens_at
          ? t("transfer.opensAt", { time: when(partner.opens_at) })
          : t("transfer.closed");
      return h(
        "div",
        { class: `partner ${partner.open_now ? "is-open" : "is-closed"}` },
        input,
        h(
          "label",
          { for: inputId },
          h("span", { class: "partner-name" }, partner.name),
          h("span", { class: `badge ${partner.open_now ? "badge-ok" : "badge-idle"}` }, hours),
          partner.description ? h("span", { class: "partner-desc" }, partner.description) : null,
        ),
      );
    });
    partnersBox.replaceChildren(legend, ...items);
    drawRegions();
  }

  function chosen(): Partner | null {
    const input = partnersBox.querySelector<HTMLInputElement>("input[name=partner]:checked");
    return partners.find((p) => p.id === input?.value) ?? null;
  }

  function drawRegions(): void {
    const partner = chosen();
    const noRegion = h("option", { value: "" }, t("transfer.noRegion"));
    region.replaceChildren(
      noRegion,
      ...(partner?.regions ?? []).map((r) => h("option", { value: r }, categoryLabel("region", r))),
    );
    region.disabled = partner === null || partner.regions.length === 0;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
    const mode = submitter?.value === "direct" ? "direct" : "consult";
    const partner = chosen();
    if (partner === null) {
      say(t("transfer.partners") + "?");
      (partnersBox.querySelector("input:not([disabled])") as HTMLElement | null)?.focus();
      return;
    }
    if (!consent.checked) {
      say(t("transfer.consentNeeded"));
      consent.focus();
      return;
    }
    if (sending) return;
    sending = true;
    say(null);
    const body: Record<string, unknown> = { partner: partner.id, mode, consent: true };
    if (region.value) body.region = region.value;
    try {
      const result = await api.post<{ transfer: TransferView | null }>("/api/v1/me/transfer", body);
      if (result.transfer) state.transfers.set(result.transfer.contact_id, result.transfer);
      open = false;
      consent.checked = false;
      changed();
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) return onSessionGone();
      say(exc instanceof ApiError ? exc.message : t("err.network"));
    } finally {
      sending = false;
      render();
    }
  });

  async function doStep(step: string): Promise<void> {
    if (sending) return;
    sending = true;
    say(null);
    try {
      const result = await api.post<{ transfer: TransferView | null }>(`/api/v1/me/transfer/${step}`);
      if (result.transfer) state.transfers.set(result.transfer.contact_id, result.transfer);
      changed();
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) return onSessionGone();
      setText(status, exc instanceof ApiError ? exc.message : t("err.network"));
    } finally {
      sending = false;
      render();
    }
  }

  function render(): void {
    const transfer = currentTransfer();
    // A call, not a chat: transfers are for the phone.
    const inCall = state.call.state === "active" || (state.agent?.state === "busy" && currentContact() !== null);
    const running = transfer !== null && RUNNING.has(transfer.state) && transfer.state !== "handed_over";
    show(el, inCall || transfer !== null);
    const canStart = inCall && !running && state.call.state === "active";
    show(toggle, canStart);
    setText(toggle, open ? t("transfer.close") : t("transfer.open"));
    toggle.setAttribute("aria-expanded", String(open && canStart));
    show(form, open && canStart);
    const partnerName = transfer?.partner_name ?? "";
    if (transfer !== null) {
      let text = t(`transfer.state_${transfer.state}`, { partner: partnerName, defaultValue: humanize(transfer.state) });
      if (transfer.reason && !RUNNING.has(transfer.state)) text += ` (${categoryLabel("reason", transfer.reason)})`;
      setText(status, text);
    } else setText(status, "");
    const allowed = transfer !== null ? (STEPS[transfer.state] ?? []) : [];
    for (const [step, button] of Object.entries(stepButtons)) {
      const visible = inCall && allowed.includes(step) && !(step === "stay" && transfer?.stayed);
      show(button, visible);
      button.disabled = sending;
    }
    show(stayed, transfer?.stayed === true && transfer.state === "conference");
    const entries = transfer !== null && state.transferLog[0]?.contactId === transfer.contact_id ? state.transferLog : [];
    show(logBox, entries.length > 0);
    if (log.childElementCount !== entries.length || log.dataset.lang !== t("transfer.steps")) {
      log.dataset.lang = t("transfer.steps");
      log.replaceChildren(
        ...entries.map((entry) =>
          h(
            "li",
            {},
            h("span", { class: "time" }, clock(entry.at)),
            " ",
            t(`transfer.state_${entry.state}`, { partner: partnerName, defaultValue: humanize(entry.state) }) +
              (entry.reason && !RUNNING.has(entry.state) ? ` (${categoryLabel("reason", entry.reason)})` : ""),
          ),
        ),
      );
    }
  }

  return { el, render };
}
