// Sign-in: volunteer id, password, location. POST /api/v1/session sets the HttpOnly session
// cookie and returns the CSRF token; the password never leaves this form otherwise.
import { api, ApiError, NetworkError } from "../api";
import { h, id, show, tr } from "../dom";
import { t } from "../i18n";
import type { Boot, Me } from "../types";
import { buildLangSwitch } from "./lang";

export interface SignIn {
  el: HTMLElement;
  showMessage(key: string | null): void;
  focus(): void;
  reset(): void;
}

/** ``extra``: more fields for POST /api/v1/session (the wallboard's ``watch_only``). */
export function buildSignIn(
  boot: Boot,
  onSignedIn: (me: Me) => void,
  extra: Record<string, boolean> = {},
): SignIn {
  const userId = id("volunteer-id");
  const passId = id("password");
  const locId = id("location");
  const msgId = id("signin-message");
  const user = h("input", {
    id: userId,
    name: "volunteer_id",
    type: "text",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
    maxlength: 64,
    "aria-describedby": msgId,
  });
  const pass = h("input", {
    id: passId,
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    maxlength: 256,
    "aria-describedby": msgId,
  });
  const loc = h("select", { id: locId, name: "location" });
  const home = tr(h("option", { value: "" }), "signin.homeLocation");
  loc.append(home);
  for (const location of boot.locations ?? []) {
    loc.append(h("option", { value: location.id }, location.name));
  }
  const message = h("p", { id: msgId, class: "form-message", role: "alert", hidden: true });
  const submit = tr(h("button", { type: "submit", class: "btn btn-primary btn-wide" }), "signin.submit");
  const form = h(
    "form",
    { class: "signin-form", novalidate: true },
    h("div", { class: "field" }, tr(h("label", { for: userId }), "signin.volunteerId"), user),
    h("div", { class: "field" }, tr(h("label", { for: passId }), "signin.password"), pass),
    boot.locations && boot.locations.length > 0
      ? h("div", { class: "field" }, tr(h("label", { for: locId }), "signin.location"), loc)
      : null,
    message,
    submit,
  );
  const heading = tr(h("h1", { tabindex: -1 }), "signin.heading");
  const el = h(
    "main",
    { id: "main", class: "signin" },
    h(
      "section",
      { class: "panel signin-panel", "aria-labelledby": "signin-heading" },
      h("div", { class: "signin-top" }, h("p", { class: "brand-name" }, boot.helpline ?? t("app.helpline")), buildLangSwitch()),
      heading,
      tr(h("p", { class: "muted" }), "signin.intro"),
      form,
    ),
  );
  heading.id = "signin-heading";

  let busy = false;
  const say = (text: string | null) => {
    message.textContent = text ?? "";
    show(message, text !== null);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    if (user.value.trim() === "" || pass.value === "") {
      say(t("signin.required"));
      (user.value.trim() === "" ? user : pass).focus();
      return;
    }
    busy = true;
    submit.disabled = true;
    submit.textContent = t("signin.busy");
    say(null);
    try {
      const body: Record<string, string | boolean> = {
        ...extra,
        volunteer_id: user.value.trim(),
        password: pass.value,
      };
      if (loc.value !== "") body.location = loc.value;
      const me = await api.signIn<Me>(body);
      pass.value = "";
      onSignedIn(me);
    } catch (exc) {
      pass.value = "";
      if (exc instanceof ApiError && exc.status === 401) say(t("signin.invalid"));
      else if (exc instanceof ApiError && exc.status === 429)
        say(t("signin.tooMany", { seconds: exc.retryAfterS ?? 30 }));
      else if (exc instanceof ApiError && exc.status === 400) say(exc.message);
      else if (exc instanceof NetworkError || (exc instanceof ApiError && exc.status >= 500))
        say(t("signin.unavailable"));
      else say(t("err.generic", { status: exc instanceof ApiError ? exc.status : "?" }));
      pass.focus();
    } finally {
      busy = false;
      submit.disabled = false;
      submit.textContent = t("signin.submit");
    }
  });

  return {
    el,
    showMessage: (key) => say(key === null ? null : t(key)),
    focus: () => (user.value === "" ? user : pass).focus(),
    reset: () => {
      pass.value = "";
    },
  };
}
