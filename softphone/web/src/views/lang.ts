// The language switch (Dutch by default, English available), on the sign-in page and in the
// header. Buttons with aria-pressed: one press, no menu to open.
import { h, tr } from "../dom";
import { lang, LANGUAGES, onLanguageChanged, setLang } from "../i18n";
import { changed } from "../store";

export function buildLangSwitch(): HTMLElement {
  const buttons = LANGUAGES.map((code) => {
    const button = h(
      "button",
      { type: "button", class: "btn btn-small", lang: code, "aria-pressed": String(code === lang()) },
      code === "nl" ? "Nederlands" : "English",
    );
    button.addEventListener("click", () => void setLang(code).then(changed));
    return button;
  });
  const sync = () => {
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.lang === lang()));
  };
  onLanguageChanged(sync);
  const group = h("div", { class: "lang-switch", role: "group" }, ...buttons);
  tr(group, "app.language", undefined, "aria-label");
  return group;
}
