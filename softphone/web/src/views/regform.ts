// The registration form (the anonymous wrap-up) for one contact: contact type, topics with
// sub-categories, age band, gender, the referral a transfer made (read only), notes only where
// the helpline enabled them. Used by the wrap-up panel (the last call) and by each chat's tab.
import { api, ApiError } from "../api";
import { h, id, show, tr } from "../dom";
import { categoryLabel, t } from "../i18n";
import { changed, state } from "../store";
import type { AgentView, Category, RegistrationConfig, RegistrationState, SavedRegistration } from "../types";

const asCategory = (item: Category | string): Category => (typeof item === "string" ? { id: item } : item);
const subOf = (item: Category): Category[] => item.children ?? item.sub ?? item.subcategories ?? [];

export interface RegistrationTarget {
  contactId: string;
  referral: RegistrationState["referral"];
  partnerNames: Map<string, string>;
  /** What was chosen before (a saved registration, or the form as it was before a redraw). */
  before: SavedRegistration | null;
}

export interface RegistrationHooks {
  /** Show a message under the form (null: none). */
  say(text: string | null): void;
  /** Saved (the server ends the wrap-up). */
  done(): void;
  sessionGone(): void;
}

/** The form's current answers. */
export function current(f: HTMLFormElement): SavedRegistration {
  const data = new FormData(f);
  const text = (name: string) => {
    const value = data.get(name);
    return typeof value === "string" ? value : "";
  };
  return {
    contact_type: text("contact_type"),
    topics: data.getAll("topic").map(String),
    age_band: text("age_band"),
    gender: text("gender"),
    notes: text("notes").trim() || null,
  };
}

function choiceGroup(
  name: string,
  legendKey: string,
  group: string,
  items: (Category | string)[],
  type: "radio" | "checkbox",
  preselect: string | null,
): HTMLFieldSetElement {
  const fieldset = h("fieldset", { class: "choices" }, tr(h("legend", {}), legendKey));
  for (const raw of items) {
    const item = asCategory(raw);
    const inputId = id(name);
    fieldset.append(
      h(
        "div",
        { class: "choice" },
        h("input", { type, name, value: item.id, id: inputId, checked: item.id === preselect }),
        h("label", { for: inputId }, categoryLabel(group, raw)),
      ),
    );
  }
  return fieldset;
}

export function registrationForm(target: RegistrationTarget, hooks: RegistrationHooks): HTMLFormElement {
  const { say, done, sessionGone } = hooks;
  let saving = false;
  const config: RegistrationConfig = state.workspace?.registration ?? {};
  const before = target.before;
  const next = h("form", { class: "wrapup-form", novalidate: true });
  next.append(choiceGroup("contact_type", "wrapup.contactType", "cat.contact_type", config.contact_types ?? [], "radio", before?.contact_type ?? null));
  const topics = h("fieldset", { class: "choices topics" }, tr(h("legend", {}), "wrapup.topics"));
  const chosenTopics = new Set(before?.topics ?? []);
  for (const raw of config.topics ?? []) {
    const topic = asCategory(raw);
    const inputId = id("topic");
    const subs = subOf(topic);
    const anySub = subs.some((sub) => chosenTopics.has(sub.id));
    const subBox = h("fieldset", { class: "choices subtopics", hidden: !(chosenTopics.has(topic.id) || anySub) || subs.length === 0 });
    if (subs.length > 0) {
      subBox.append(tr(h("legend", {}), "wrapup.subtopics"));
      for (const sub of subs) {
        const subId = id("subtopic");
        subBox.append(
          h(
            "div",
            { class: "choice" },
            h("input", { type: "checkbox", name: "topic", value: sub.id, id: subId, checked: chosenTopics.has(sub.id) }),
            h("label", { for: subId }, categoryLabel("cat.topic", sub)),
          ),
        );
      }
    }
    const input = h("input", { type: "checkbox", name: "topic", value: topic.id, id: inputId, checked: chosenTopics.has(topic.id) || anySub });
    input.addEventListener("change", () => {
      show(subBox, input.checked && subs.length > 0);
      if (!input.checked) for (const box of subBox.querySelectorAll("input")) box.checked = false;
    });
    topics.append(
      h(
        "div",
        { class: "choice topic" },
        input,
        h("label", { for: inputId }, categoryLabel("cat.topic", raw)),
        subs.length > 0 ? subBox : null,
      ),
    );
  }
  next.append(topics);
  const hasUnknown = (items: (Category | string)[] | undefined) =>
    (items ?? []).some((i) => asCategory(i).id === "unknown") ? "unknown" : null;
  next.append(choiceGroup("age_band", "wrapup.ageBand", "cat.age_band", config.age_bands ?? [], "radio", before?.age_band ?? hasUnknown(config.age_bands)));
  next.append(choiceGroup("gender", "wrapup.gender", "cat.gender", config.genders ?? [], "radio", before?.gender ?? hasUnknown(config.genders)));
  const referral = target.referral;
  next.append(
    h(
      "div",
      { class: "field" },
      referral
        ? h(
            "p",
            { class: "referral" },
            tr(h("strong", {}), "wrapup.referral"),
            ": ",
            [target.partnerNames.get(referral.partner) ?? referral.partner, referral.region ? categoryLabel("region", referral.region) : ""]
              .filter(Boolean)
              .join(" · "),
          )
        : tr(h("p", { class: "referral muted" }), "wrapup.noReferral"),
    ),
  );
  if (config.notes_enabled === true) {
    const notesId = id("notes");
    const hintId = id("notes-hint");
    const notes = h("textarea", { id: notesId, name: "notes", rows: 3, maxlength: config.notes_max_length ?? 2000, "aria-describedby": hintId });
    notes.value = before?.notes ?? "";
    const days = config.notes_retention_days;
    next.append(
      h(
        "div",
        { class: "field" },
        tr(h("label", { for: notesId }), "wrapup.notes"),
        notes,
        days
          ? tr(h("p", { id: hintId, class: "hint" }), "wrapup.notesHint", () => ({ days }))
          : tr(h("p", { id: hintId, class: "hint" }), "wrapup.notesHintPlain"),
      ),
    );
  }
  const save = tr(h("button", { type: "submit", class: "btn btn-primary btn-wide" }), "wrapup.save");
  next.append(save);
  next.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit(next, save, config);
  });
  return next;

  async function submit(f: HTMLFormElement, save: HTMLButtonElement, config: RegistrationConfig): Promise<void> {
    if (saving) return;
    const values = current(f);
    for (const [field, key] of [
      ["contact_type", "wrapup.contactType"],
      ["age_band", "wrapup.ageBand"],
      ["gender", "wrapup.gender"],
    ] as const) {
      if (values[field] === "") {
        say(t("wrapup.choose", { field: t(key) }));
        f.querySelector<HTMLInputElement>(`input[name=${field}]`)?.focus();
        return;
      }
    }
    if (config.max_topics !== undefined && values.topics.length > config.max_topics) {
      say(t("wrapup.tooManyTopics", { max: config.max_topics }));
      return;
    }
    const payload: Record<string, unknown> = {
      contact_id: target.contactId,
      contact_type: values.contact_type,
      topics: values.topics,
      age_band: values.age_band,
      gender: values.gender,
    };
    if (config.notes_enabled === true && values.notes !== null) payload.notes = values.notes;
    saving = true;
    save.disabled = true;
    save.textContent = t("wrapup.saving");
    say(null);
    try {
      const result = await api.post<{ saved?: boolean; agent?: AgentView | null }>("/api/v1/me/registration", payload);
      if (result.agent !== undefined) state.agent = result.agent;
      changed();
      done();
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) return sessionGone();
      say(t("wrapup.error", { message: exc instanceof ApiError ? exc.message : t("err.network") }));
    } finally {
      saving = false;
      save.disabled = false;
      save.textContent = t("wrapup.save");
    }
  }
}
