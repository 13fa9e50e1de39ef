// The browser phone: JsSIP registers as this session's own short-lived SIP account
// (GET /api/v1/me/sip) over the app's SIP WebSocket (same origin, /sip). JsSIP reconnects and
// re-registers by itself after a network blip; new credentials are fetched shortly before the
// old ones expire (one timer per credential, not a polling loop). Nothing of the SIP messages
// is shown: the caller's identity was removed before the call reached us anyway.
import { UA, WebSocketInterface } from "jssip";
import type { RTCSession } from "jssip/lib/RTCSession";
import type { RTCSessionEvent } from "jssip/lib/UA";
import { api, ApiError } from "./api";
import { Ringer } from "./ring";
import { changed, state } from "./store";
import type { SipCredentials } from "./types";

const REFRESH_SHARE = 0.7;
const MIN_REFRESH_MS = 15_000;
const RETRY_MS = 1_000;
const RETRY_MAX_MS = 15_000;

export class Phone {
  private ua: UA | null = null;
  private creds: SipCredentials | null = null;
  private session: RTCSession | null = null;
  private refreshTimer: number | null = null;
  private stopped = true;
  private failures = 0;
  /** When the last INVITE reached this page (Unix ms): the ring benchmark's end mark. */
  lastRingAt: number | null = null;
  /** Whether an INVITE arriving now, from this caller id user, is the supervisor's coaching
   * call (see coach.ts). */
  isCoachingCall: (fromUser: string) => boolean = () => false;
  private readonly ringer = new Ringer();

  constructor(private readonly audio: HTMLAudioElement) {
    window.addEventListener("online", () => {
      // JsSIP notices a dead socket on its own; after the network returns, register at once.
      if (!this.stopped && this.ua !== null && this.ua.isConnected()) this.ua.register();
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.failures = 0;
    await this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.refreshTimer !== null) window.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.ringer.stop();
    const ua = this.ua;
    this.ua = null;
    this.session = null;
    if (ua !== null) {
      ua.terminateSessions();
      ua.stop();
    }
    state.sip = "off";
    state.call = { state: "none", held: false, muted: false, startedAt: null, contactId: null, coaching: false };
    changed();
  }

  /** Unlock sound output while we have a user gesture (browsers need one). */
  unlockAudio(): void {
    this.ringer.unlock();
  }

  /** Fetch credentials, then (re)start the UA or just update its password. */
  private async refresh(): Promise<void> {
    if (this.stopped) return;
    let creds: SipCredentials;
    try {
      creds = await api.get<SipCredentials>("/api/v1/me/sip");
    } catch (exc) {
      if (this.stopped) return;
      if (exc instanceof ApiError && exc.status < 500) {
        // 409 not_browser_phone: this account answers on a desk phone or softphone; 404: no
        // browser phones here; 401: the session is over (handled by the page). Asking again
        // would not change any of these: no retry loop.
        state.sip =
          exc.code === "not_browser_phone" ? "external" : exc.status === 404 ? "unavailable" : "failed";
      } else {
        // The server is away for a moment (restart, network): try again, backing off.
        state.sip = "reconnecting";
        this.failures += 1;
        this.arm(Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** Math.min(this.failures - 1, 4)));
      }
      changed();
      return;
    }
    this.failures = 0;
    if (this.stopped) return;
    const old = this.creds;
    this.creds = creds;
    if (this.ua !== null && old !== null && old.username === creds.username && old.uri === creds.uri) {
      this.ua.set("password", creds.password);
      this.ua.set("realm", creds.realm);
      this.ua.register();
    } else if (this.session === null) {
      this.startUa(creds);
    }
    // else: a new account while a call runs; it takes over when the call ends (see ended()).
    this.arm(refreshDelay(creds));
  }

  private arm(ms: number): void {
    if (this.refreshTimer !== null) window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => {
      this.refreshTimer = null;
      void this.refresh();
    }, ms);
  }

  private startUa(creds: SipCredentials): void {
    const old = this.ua;
    if (old !== null) old.stop();
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocketInterface(`${proto}//${location.host}${creds.ws_path || "/sip"}`);
    const ua = new UA({
      sockets: [socket],
      uri: creds.uri,
      authorization_user: creds.username,
      password: creds.password,
      realm: creds.realm,
      register: true,
      register_expires: 120,
      session_timers: false,
      connection_recovery_min_interval: 1,
      connection_recovery_max_interval: 8,
      user_agent: "helpline-softphone",
    });
    this.ua = ua;
    state.sip = "connecting";
    ua.on("connecting", () => this.sipState(ua, state.sip === "registered" ? "reconnecting" : "connecting"));
    ua.on("disconnected", () => this.sipState(ua, "reconnecting"));
    ua.on("registered", () => this.sipState(ua, "registered"));
    ua.on("unregistered", () => this.sipState(ua, "unregistered"));
    ua.on("registrationFailed", (event: { response?: { status_code?: number } }) => {
      this.sipState(ua, "failed");
      // Expired or revoked credentials: fetch new ones (once per failure, then the timer).
      const code = event.response?.status_code;
      if (code === 401 || code === 403) this.arm(1000);
    });
    ua.on("newRTCSession", (event: RTCSessionEvent) => {
      if (event.originator !== "remote") return;
      this.incoming(event.session);
    });
    ua.start();
    changed();
  }

  private sipState(ua: UA, next: typeof state.sip): void {
    if (ua !== this.ua) return;
    state.sip = next;
    changed();
  }

  private incoming(session: RTCSession): void {
    if (this.session !== null) {
      // One call at a time: the ACD never offers two, so this is a stray INVITE.
      session.terminate({ status_code: 486 });
      return;
    }
    this.session = session;
    this.lastRingAt = Date.now();
    const coaching = this.isCoachingCall(session.remote_identity?.uri?.user ?? "");
    state.call = {
      state: "ringing",
      held: false,
      muted: false,
      startedAt: null,
      contactId: coaching ? null : (state.agent?.offer ?? null),
      coaching,
    };
    if (!coaching) this.ringer.start();
    const attach = (pc: RTCPeerConnection) => {
      pc.addEventListener("track", (event) => {
        const [stream] = event.streams;
        this.audio.srcObject = stream ?? new MediaStream([event.track]);
      });
    };
    if (session.connection) attach(session.connection as unknown as RTCPeerConnection);
    session.on("peerconnection", (event) => attach(event.peerconnection as unknown as RTCPeerConnection));
    session.on("accepted", () => this.callState(session, "active"));
    session.on("confirmed", () => this.callState(session, "active"));
    session.on("hold", () => this.update(session, { held: true }));
    session.on("unhold", () => this.update(session, { held: false }));
    session.on("muted", () => this.update(session, { muted: true }));
    session.on("unmuted", () => this.update(session, { muted: false }));
    session.on("ended", () => this.ended(session));
    session.on("failed", () => this.ended(session));
    changed();
    // The supervisor asked for this call a moment ago (Listen, Whisper or Barge): it is
    // answered at once, as clicking the button was the answer.
    if (coaching) this.answer();
  }

  private callState(session: RTCSession, next: "active"): void {
    if (session !== this.session) return;
    this.ringer.stop();
    if (state.call.state !== "active") {
      state.call = { ...state.call, state: next, startedAt: Date.now() / 1000 + state.skew };
    }
    this.attachReceivers(session);
    changed();
  }

  private attachReceivers(session: RTCSession): void {
    const pc = session.connection as unknown as RTCPeerConnection | undefined;
    if (!pc || this.audio.srcObject) return;
    const tracks = pc.getReceivers().map((r) => r.track).filter((t) => t.kind === "audio");
    if (tracks.length > 0) this.audio.srcObject = new MediaStream(tracks);
  }

  private update(session: RTCSession, change: Partial<typeof state.call>): void {
    if (session !== this.session) return;
    state.call = { ...state.call, ...change };
    changed();
  }

  private ended(session: RTCSession): void {
    if (session !== this.session) return;
    this.session = null;
    this.ringer.stop();
    this.audio.srcObject = null;
    state.call = { ...state.call, state: "ended", held: false, muted: false, startedAt: null };
    changed();
    const creds = this.creds;
    if (creds !== null && this.ua !== null && this.ua.get("authorization_user") !== creds.username) {
      this.startUa(creds); // new credentials arrived during the call
    }
  }

  answer(): void {
    const session = this.session;
    if (session === null || state.call.state !== "ringing") return;
    this.ringer.stop();
    state.call = { ...state.call, state: "answering" };
    changed();
    session.answer({
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: [] },
    });
  }

  toggleHold(): void {
    const session = this.session;
    if (session === null || state.call.state !== "active") return;
    if (session.isOnHold().local) session.unhold();
    else session.hold();
  }

  toggleMute(): void {
    const session = this.session;
    if (session === null) return;
    if (session.isMuted().audio) session.unmute({ audio: true });
    else session.mute({ audio: true });
  }

  hangUp(): void {
    const session = this.session;
    if (session === null) return;
    try {
      session.terminate();
    } catch {
      this.ended(session);
    }
  }

  get hasCall(): boolean {
    return this.session !== null;
  }

  /** For tests and diagnostics: how much audio this browser received and sent. Numbers only. */
  async audioStats(): Promise<{ inboundPackets: number; inboundBytes: number; outboundPackets: number }> {
    const pc = this.session?.connection as unknown as RTCPeerConnection | undefined;
    const result = { inboundPackets: 0, inboundBytes: 0, outboundPackets: 0 };
    if (!pc) return result;
    const report = await pc.getStats();
    report.forEach((stat: Record<string, unknown>) => {
      if (stat.kind !== "audio") return;
      if (stat.type === "inbound-rtp") {
        result.inboundPackets += Number(stat.packetsReceived ?? 0);
        result.inboundBytes += Number(stat.bytesReceived ?? 0);
      } else if (stat.type === "outbound-rtp") {
        result.outboundPackets += Number(stat.packetsSent ?? 0);
      }
    });
    return result;
  }
}

function refreshDelay(creds: SipCredentials): number {
  const expires =
    typeof creds.expires_at === "number"
      ? creds.expires_at * 1000
      : typeof creds.expires_at === "string"
        ? Date.parse(creds.expires_at)
        : Number.NaN;
  const serverNow = Date.now() + state.skew * 1000;
  if (!Number.isFinite(expires)) return 10 * 60_000;
  return Math.max(MIN_REFRESH_MS, (expires - serverNow) * REFRESH_SHARE);
}
