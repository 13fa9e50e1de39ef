// After the chat: the optional, anonymous two-question survey (did this help; would you contact
// us again). Both answers or none; sent once with the chat's token, then the token is forgotten.
import { h, setText, show } from "../el";
import { t, tr } from "./i18n";

export interface SurveyHooks {
  /** The chat's token, or null when there is none left to answer with. */
  token(): string | null;
  send(body: { helped: string; again: string }, token: string): Promise<unknown>;
  /** Answered or skipped (``skipped``): the page forgets the token. */
  closed(skipped: boolean): void;
}

export interface Survey {
  el: HTMLElement;
  pending(): boolean;
  reset(): void;
}

export function buildSurvey(hooks: SurveyHooks): Survey {
  let done = false;
  const question = (name: string, answers: string[]) => {
    const box = h("fieldset", { class: "question" }, tr(h("legend", {}), `survey.${name}`));
    const row = h("div", { class: "answers" });
    for (const answer of answers) {
      const id = `survey-${name}-${answer}`;
      row.append(h("span", { class: "answer" }, h("input", { type: "radio", name, value: answer, id }), tr(h("label", { for: id }), `survey.${answer}`)));
    }
    box.append(row);
    return box;
  };
  const submit = tr(h("button", { type: "submit", class: "btn btn-primary" }), "survey.submit");
  const skip = tr(h("button", { type: "button", class: "btn btn-quiet" }), "survey.skip");
  const note = h("p", { class: "muted", role: "status", tabindex: -1 });
  const form = h(
    "form",
    { class: "survey", "aria-labelledby": "survey-heading", novalidate: true },
    tr(h("h2", { id: "survey-heading" }), "survey.heading"),
    tr(h("p", { class: "muted" }), "survey.intro"),
    question("helped", ["yes", "partly", "no"]),
    question("again", ["yes", "no"]),
    h("div", { class: "row" }, submit, skip),
  );
  const el = h("div", { class: "survey-box" }, form, note);
  const close = (key: string | null) => {
    done = true;
    show(form, false);
    setText(note, key === null ? "" : t(key));
    show(note, key !== null);
    hooks.closed(key === null);
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const helped = data.get("helped");
    const again = data.get("again");
    const token = hooks.token();
    if (token === null) {
      close(null);
      return;
    }
    if (typeof helped !== "string" || typeof again !== "string") {
      setText(note, t("survey.both"));
      show(note, true);
      return;
    }
    submit.disabled = true;
    try {
      await hooks.send({ helped, again }, token);
      close("survey.done");
    } catch {
      close("survey.failed");
    } finally {
      submit.disabled = false;
    }
    note.focus();
  });
  skip.addEventListener("click", () => close(null));
  return {
    el,
    pending: () => !done,
    reset: () => {
      done = false;
      form.reset();
      show(form, true);
      show(note, false);
    },
  };
}
