// The volunteer's workspace: sign in, then one page with the state control, the conversation,
// the transfer and the wrap-up form, kept current by the live state bus and the browser phone.
import { api, ApiError, setCsrfToken, whenUnauthorized } from "./api";
import { h, keep } from "./dom";
import { initI18n, lang, onLanguageChanged, t } from "./i18n";
import { LiveBus } from "./live";
import { Phone } from "./phone";
import { changed, resetLive, state, subscribe } from "./store";
import type { Boot, Me, Workspace } from "./types";
import { ChatClient } from "./chats";
import { Coach } from "./coach";
import { Ringer } from "./ring";
import { buildCallPanel } from "./views/call";
import { buildChatsPanel } from "./views/chats";
import { buildCoachingPanel } from "./views/coaching";
import { buildSignIn } from "./views/signin";
import { buildHeader, buildStateControl, locationLabel, setLocations } from "./views/status";
import { buildTransferPanel } from "./views/transfer";
import { buildWrapUpPanel } from "./views/wrapup";

function readBoot(): Boot {
  try {
    return JSON.parse(document.getElementById("boot")?.textContent ?? "{}") as Boot;
  } catch {
    return {};
  }
}

async function main(): Promise<void> {
  await initI18n();
  const boot = readBoot();
  setLocations(boot.locations);
  const root = document.getElementById("app") as HTMLElement;
  const audio = document.getElementById("remote-audio") as HTMLAudioElement;
  const phone = new Phone(audio);
  // For the browser tests and diagnostics: read-only numbers, nothing about anyone.
  (window as unknown as { helplineSoftphone: unknown }).helplineSoftphone = {
    audioStats: () => phone.audioStats(),
    status: () => ({
      signedIn,
      live: state.live,
      sip: state.sip,
      call: state.call.state,
      callCoaching: state.call.coaching,
      agent: state.agent?.state ?? null,
      lastRingAt: phone.lastRingAt,
      chatLink: state.chatLink,
      chats: [...state.chats.values()].map((c) => ({ id: c.id, ended: c.ended, lines: c.lines.length })),
    }),
  };
  let signedIn = false;

  const sessionGone = (messageKey = "signin.expired") => {
    if (!signedIn) return;
    leaveWorkspace(messageKey);
  };
  whenUnauthorized(() => sessionGone());

  const live = new LiveBus(
    () => state.me?.volunteer.id ?? null,
    () => sessionGone(),
    async () => {
      // The socket dropped twice: does the session still stand? (One request per drop.)
      try {
        await api.get<Me>("/api/v1/me");
        return true;
      } catch (exc) {
        return !(exc instanceof ApiError && exc.status === 401);
      }
    },
  );

  const signIn = buildSignIn(boot, (me) => {
    phone.unlockAudio(); // the sign-in click is the user gesture sound output needs
    chatRinger.unlock();
    void enterWorkspace(me);
  });
  const header = buildHeader(boot, () => void signOut());
  const stateControl = buildStateControl(() => sessionGone());
  const callPanel = buildCallPanel(phone);
  const transferPanel = buildTransferPanel(() => sessionGone());
  const wrapUpPanel = buildWrapUpPanel(() => sessionGone());
  const chats = new ChatClient(() => sessionGone());
  const chatRinger = new Ringer(); // a chat offer chimes as a call rings
  const chatsPanel = buildChatsPanel(chats, chatRinger, () => sessionGone());
  // Supervisors only: the panel is on the page for them and for nobody else.
  const coach = new Coach();
  phone.isCoachingCall = (fromUser) => coach.claimCall(fromUser);
  const coachingPanel = buildCoachingPanel(coach, locationLabel, () => sessionGone());
  live.onCoaching = (coaching) => coachingPanel.coachingStep(coaching);
  const coachingCol = h("div", { class: "col col-wide" });
  const skip = h("a", { class: "skip-link", href: "#workspace-main" });
  const notice = h("p", { class: "notice", role: "status", hidden: true });
  const workspace = h(
    "div",
    { class: "workspace" },
    skip,
    header.el,
    h(
      "main",
      { id: "workspace-main", class: "grid", tabindex: -1 },
      h("h1", { class: "visually-hidden" }),
      notice,
      h("div", { class: "col col-main" }, stateControl.el, callPanel.el),
      h("div", { class: "col col-side" }, chatsPanel.el, transferPanel.el, wrapUpPanel.el),
      coachingCol,
    ),
  );
  keep(workspace);
  keep(coachingPanel.el); // off the page for a volunteer, still translated for a supervisor
  keep(signIn.el);
  const title = workspace.querySelector("h1") as HTMLElement;
  const translateStatic = () => {
    skip.textContent = t("app.skip");
    title.textContent = t("app.title");
    document.title = t("app.title");
  };
  translateStatic();
  onLanguageChanged(() => {
    translateStatic();
    changed();
    if (signedIn) void loadWorkspace();
  });

  subscribe(() => {
    if (!signedIn) return;
    header.render();
    stateControl.render();
    callPanel.render();
    transferPanel.render();
    wrapUpPanel.render();
    chatsPanel.render();
    if (coach.isSupervisor) coachingPanel.render();
    notice.hidden = state.notice === null;
    notice.textContent = state.notice ?? "";
  });
  // A display clock for timers (wait, call, wrap-up); it asks the server nothing.
  window.setInterval(() => {
    if (!signedIn) return;
    stateControl.tick();
    callPanel.tick();
    chatsPanel.tick();
  }, 1000);

  async function enterWorkspace(me: Me): Promise<void> {
    signedIn = true;
    state.me = me;
    state.agent = me.agent;
    state.notice = null;
    setCsrfToken(me.csrf_token ?? null);
    coachingCol.replaceChildren(...(coach.isSupervisor ? [coachingPanel.el] : []));
    coachingCol.hidden = !coach.isSupervisor;
    root.replaceChildren(workspace);
    (workspace.querySelector("#workspace-main") as HTMLElement).focus();
    changed();
    await loadWorkspace();
    if (!signedIn) return;
    live.start();
    chats.start();
    void phone.start();
    changed();
  }

  /** Pause reasons and the wrap-up form's lists, labelled in the page's language (asked
   * again when the volunteer switches language: one request per switch). */
  async function loadWorkspace(): Promise<void> {
    try {
      state.workspace = await api.get<Workspace>(`/api/v1/workspace?lang=${lang()}`);
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 400) {
        // The helpline has no labels in this language: its first language, then.
        try {
          state.workspace = await api.get<Workspace>("/api/v1/workspace");
        } catch {
          state.workspace = null;
        }
      } else state.workspace = null;
    }
    changed();
  }

  function leaveWorkspace(messageKey: string | null): void {
    signedIn = false;
    live.stop();
    chats.stop();
    chatRinger.stop();
    coachingPanel.stop();
    coach.forget();
    phone.stop();
    setCsrfToken(null);
    state.me = null;
    state.workspace = null;
    state.transferLog = [];
    resetLive();
    root.replaceChildren(signIn.el);
    signIn.reset();
    signIn.showMessage(messageKey);
    signIn.focus();
  }

  async function signOut(): Promise<void> {
    if (phone.hasCall) return;
    try {
      await api.del("/api/v1/session");
    } catch {
      // Gone already, or the server is away: the page signs out either way.
    }
    leaveWorkspace("signin.signedOut");
  }

  // Sound output needs a user gesture: after a reload, the first click or key unlocks the ring.
  for (const type of ["pointerdown", "keydown"]) {
    document.addEventListener(
      type,
      () => {
        phone.unlockAudio();
        chatRinger.unlock();
      },
      { once: true, capture: true },
    );
  }

  // A reload keeps the session (the cookie) and asks who we are.
  try {
    const me = await api.get<Me>("/api/v1/me");
    await enterWorkspace(me);
  } catch {
    root.replaceChildren(signIn.el);
    signIn.focus();
  }

}

void main();
