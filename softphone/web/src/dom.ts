// A few lines instead of a framework: elements are made once and updated in place, so focus
// stays where the volunteer put it.
import { onLanguageChanged, t } from "./i18n";

export { append, h, setText, show } from "./el";

const translated: { el: Element; apply: () => void }[] = [];
const kept: Element[] = [];

/** A view that comes and goes as a whole (sign-in, workspace): its translated elements are
 * kept while it is off the page; those of other dropped elements (rebuilt lists) are not. */
export function keep(root: Element): void {
  kept.push(root);
}

/** Keep ``el``'s text (or an attribute) translated; re-applied when the language changes. */
export function tr<E extends Element>(
  el: E,
  key: string,
  options?: () => Record<string, unknown>,
  attr?: string,
): E {
  const apply = () => {
    const text = t(key, options?.());
    if (attr) el.setAttribute(attr, text);
    else el.textContent = text;
  };
  apply();
  translated.push({ el, apply });
  return el;
}

onLanguageChanged(() => {
  for (let i = translated.length - 1; i >= 0; i--) {
    const item = translated[i];
    // Elements dropped for good are forgotten (lists rebuilt on each change).
    if (!item.el.isConnected && !kept.some((root) => root.contains(item.el))) translated.splice(i, 1);
    else item.apply();
  }
});

let uid = 0;
export function id(prefix: string): string {
  uid += 1;
  return `${prefix}-${uid}`;
}
