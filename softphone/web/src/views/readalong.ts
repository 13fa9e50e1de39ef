// One chat a supervisor reads along with: its transcript as it grows (read-only: there is no
// composer), who said what, and a button to stop. Every text is set as text, never as HTML.
import { h, id, setText, show, tr } from "../dom";
import { clock } from "../format";
import { t } from "../i18n";
import type { ReadAlong, ReadLine } from "../readalong";

export interface ReadPane {
  el: HTMLElement;
  reader: ReadAlong;
  render(title: string): void;
  focus(): void;
}

export function buildReadPane(reader: ReadAlong, onClose: () => void): ReadPane {
  const headingId = id("read-heading");
  const heading = h("h3", { id: headingId, tabindex: -1 });
  const status = h("p", { class: "muted read-status", role: "status" });
  const empty = tr(h("p", { class: "muted" }), "coach.pane.empty");
  const list = h("ol", { class: "chat-list" });
  const log = h("div", { class: "chat-log", role: "log", "aria-live": "polite", tabindex: 0 }, empty, list);
  tr(log, "chat.transcript", undefined, "aria-label");
  const close = tr(h("button", { type: "button", class: "btn btn-small" }), "coach.pane.close");
  close.addEventListener("click", onClose);
  const el = h(
    "section",
    { class: "read-pane", "aria-labelledby": headingId, "data-chat": reader.chatId },
    h("div", { class: "read-head" }, heading, close),
    tr(h("p", { class: "hint" }), "coach.pane.readOnly"),
    status,
    log,
  );

  let drawn = "";
  function render(title: string): void {
    setText(heading, title);
    const statusKey = reader.status === "open" ? null : `coach.pane.${reader.status}`;
    show(status, statusKey !== null);
    setText(status, statusKey === null ? "" : t(statusKey));
    const last = reader.lines[reader.lines.length - 1];
    const signature = `${reader.lines.length}:${last?.seq ?? ""}:${t("coach.pane.child")}`;
    show(empty, reader.lines.length === 0);
    if (signature === drawn) return;
    drawn = signature;
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    list.replaceChildren(...reader.lines.map(lineEl));
    if (nearBottom) log.scrollTop = log.scrollHeight;
  }

  return { el, reader, render, focus: () => heading.focus() };
}

function lineEl(line: ReadLine): HTMLLIElement {
  const from = line.from === "child" || line.from === "volunteer" ? line.from : "system";
  const text = h("p", { class: "msg-text" });
  text.textContent = line.text; // text, never HTML
  return h(
    "li",
    { class: `msg msg-${from}` },
    h("span", { class: "msg-who" }, `${t(`coach.pane.${from}`)} · ${clock(line.at)}`),
    text,
  );
}
