// The child's page has its own texts (locales/chat.*.json) and its own i18next instance: Dutch
// by default, English on request. The choice lasts for this tab only (sessionStorage), and
// the quick exit clears it with everything else.
import i18next from "i18next";
import en from "../../locales/chat.en.json";
import nl from "../../locales/chat.nl.json";

export const LANGUAGES = ["nl", "en"] as const;
export type Lang = (typeof LANGUAGES)[number];
export const LANG_KEY = "helpline.chat.lang";

const i18n = i18next.createInstance();

export async function initI18n(): Promise<void> {
  let saved: string | null = null;
  try {
    saved = sessionStorage.getItem(LANG_KEY);
  } catch {
    saved = null;
  }
  const asked = new URLSearchParams(location.search).get("lang");
  await i18n.init({
    lng: (asked ?? saved) === "en" ? "en" : "nl",
    fallbackLng: "nl",
    resources: { nl: { translation: nl }, en: { translation: en } },
    // Text is always set with textContent, never as HTML.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  document.documentElement.lang = lang();
}

export function t(key: string, options?: Record<string, unknown>): string {
  return i18n.t(key, options) as string;
}

export function lang(): Lang {
  return i18n.language === "en" ? "en" : "nl";
}

export async function setLang(next: Lang): Promise<void> {
  await i18n.changeLanguage(next);
  document.documentElement.lang = next;
  try {
    sessionStorage.setItem(LANG_KEY, next);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

/** Elements whose text follows the language: ``tr(el, key)`` once, re-applied on a switch. */
const translated: { el: Element; apply: () => void }[] = [];

export function tr<E extends Element>(el: E, key: string, options?: () => Record<string, unknown>, attr?: string): E {
  const apply = () => {
    const text = t(key, options?.());
    if (attr) el.setAttribute(attr, text);
    else el.textContent = text;
  };
  apply();
  translated.push({ el, apply });
  return el;
}

export function onLanguageChanged(handler: () => void): void {
  i18n.on("languageChanged", handler);
}

onLanguageChanged(() => {
  for (const item of translated) item.apply();
});
