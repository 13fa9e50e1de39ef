// Periods for the report form: local calendar days as "YYYY-MM-DD" (what <input type="date">
// holds and the API takes). Weeks start on Monday, as in the Netherlands.

export const PRESETS = [
  "today",
  "yesterday",
  "thisWeek",
  "lastWeek",
  "thisMonth",
  "lastMonth",
  "thisYear",
  "lastYear",
] as const;
export type Preset = (typeof PRESETS)[number];

/** The longest period the API makes a report of (web.reports_api.MAX_DAYS). */
export const MAX_DAYS = 366;

export interface Period {
  from: string;
  to: string;
}

export function isoDay(day: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

function addDays(day: Date, n: number): Date {
  return new Date(day.getFullYear(), day.getMonth(), day.getDate() + n);
}

/** The preset's days around ``today`` (a local date; the time of day is ignored). */
export function presetPeriod(preset: Preset, today: Date): Period {
  const day = new Date(today.getFullYear(), today.getMonth(), today.getDate());
  const monday = addDays(day, -((day.getDay() + 6) % 7));
  const y = day.getFullYear();
  const m = day.getMonth();
  const span = (from: Date, to: Date): Period => ({ from: isoDay(from), to: isoDay(to) });
  switch (preset) {
    case "today":
      return span(day, day);
    case "yesterday":
      return span(addDays(day, -1), addDays(day, -1));
    case "thisWeek":
      return span(monday, addDays(monday, 6));
    case "lastWeek":
      return span(addDays(monday, -7), addDays(monday, -1));
    case "thisMonth":
      return span(new Date(y, m, 1), new Date(y, m + 1, 0));
    case "lastMonth":
      return span(new Date(y, m - 1, 1), new Date(y, m, 0));
    case "thisYear":
      return span(new Date(y, 0, 1), new Date(y, 11, 31));
    case "lastYear":
      return span(new Date(y - 1, 0, 1), new Date(y - 1, 11, 31));
  }
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function parse(text: string): number | null {
  const match = DAY.exec(text);
  if (!match) return null;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === d ? ms : null;
}

/** Why a period cannot be asked for (a translation key), or null when it can. */
export function periodProblem(period: Period): string | null {
  const from = parse(period.from);
  const to = parse(period.to);
  if (from === null || to === null) return "reports.errMissing";
  if (to < from) return "reports.errOrder";
  if ((to - from) / 86_400_000 + 1 > MAX_DAYS) return "reports.errLong";
  return null;
}

export function reportUrl(period: Period, format: "html" | "csv" | "pdf", lang: string): string {
  const query = new URLSearchParams({ from: period.from, to: period.to, format, lang });
  return `/api/v1/reports?${query.toString()}`;
}
