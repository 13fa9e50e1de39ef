import { lang, t } from "./i18n";

/** Seconds as m:ss (or h:mm:ss), never negative. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  if (h > 0) return `${h}:${String(m).padStart(2, "0")}:${ss}`;
  return t("time.minutes", { m, ss });
}

/** A clock time (HH:MM) in the volunteer's locale; ``at`` in Unix seconds or ISO text. */
export function clock(at: number | string): string {
  const date = typeof at === "number" ? new Date(at * 1000) : new Date(at);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString(lang() === "en" ? "en-GB" : "nl-NL", {
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** A day and time when not today. */
export function when(at: string): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return "";
  const locale = lang() === "en" ? "en-GB" : "nl-NL";
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return clock(at);
  return date.toLocaleString(locale, {
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}
