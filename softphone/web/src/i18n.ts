// Labels come from locales/*.json through i18next; Dutch by default, English on request. The
// choice is remembered in localStorage (it says nothing about anyone).
import i18next from "i18next";
import en from "../locales/en.json";
import nl from "../locales/nl.json";
import type { Category } from "./types";

export const LANGUAGES = ["nl", "en"] as const;
export type Lang = (typeof LANGUAGES)[number];
const KEY = "helpline.softphone.lang";

export async function initI18n(): Promise<void> {
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(KEY);
  } catch {
    saved = null;
  }
  await i18next.init({
    lng: saved === "en" ? "en" : "nl",
    fallbackLng: "nl",
    resources: { nl: { translation: nl }, en: { translation: en } },
    // Text is always set with textContent, never as HTML.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  document.documentElement.lang = i18next.language;
}

export function t(key: string, options?: Record<string, unknown>): string {
  return i18next.t(key, options) as string;
}

/** Whether ``key`` has a text (in the page's language or the fallback). */
export function has(key: string): boolean {
  return i18next.exists(key);
}

export function lang(): Lang {
  return i18next.language === "en" ? "en" : "nl";
}

export async function setLang(next: Lang): Promise<void> {
  await i18next.changeLanguage(next);
  document.documentElement.lang = next;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

export function onLanguageChanged(handler: () => void): void {
  i18next.on("languageChanged", handler);
}

/** A label for a configured choice: the server's (configured, in the language asked for)
 * first, then our own translation of its id, then a readable form of the id. */
export function categoryLabel(group: string, item: Category | string): string {
  if (typeof item !== "string") {
    const configured = item.labels?.[lang()] ?? item.label;
    if (configured) return configured;
  }
  const id = typeof item === "string" ? item : item.id;
  return t(`${group}.${id}`, { defaultValue: humanize(id) });
}

export function humanize(id: string): string {
  // "mental_health" -> "Mental health"; "violence.sexual" -> "Sexual"; "13-15" stays.
  const last = id.includes(".") ? id.slice(id.lastIndexOf(".") + 1) : id;
  const words = last.replace(/_+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
