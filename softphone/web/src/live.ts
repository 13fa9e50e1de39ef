// The live state bus: GET /api/v1/live as a WebSocket, a snapshot and then deltas. After a
// network blip it reconnects by itself, resuming with ?after=<last seq> (the server sends a
// fresh snapshot when it cannot replay). Nothing is polled.
import { backoffDelay, parseFrames, ReconnectingSocket } from "./reconnecting";
import { changed, resetLive, state } from "./store";
import type { AgentView, CoachingView, ContactView, TransferView } from "./types";

const SESSION_ENDED = 4401;
const MAX_BACKOFF_MS = 5000;

interface Snapshot {
  type: "snapshot";
  seq: number;
  at?: number;
  agents: AgentView[];
  contacts: ContactView[];
  transfers?: TransferView[];
  /** A supervisor's snapshot only. */
  coachings?: CoachingView[];
  surge?: boolean;
}

interface DeltaMessage {
  type: "delta";
  seq: number;
  at?: number;
  kind: "agent" | "contact" | "queue" | "transfer" | "coaching" | "surge" | "reset";
  id: string;
  data: Record<string, unknown> | null;
}

type Message = Snapshot | DeltaMessage;

export class LiveBus {
  private readonly socket = new ReconnectingSocket({
    path: () => (this.lastSeq === null ? "/api/v1/live" : `/api/v1/live?after=${this.lastSeq}`),
    opening: () => {
      state.live = this.attempts === 0 && this.lastSeq === null ? "connecting" : "reconnecting";
      changed();
    },
    // Open means signed in and subscribed: a resumed socket may have nothing to replay.
    opened: () => {
      this.attempts = 0;
      state.live = "connected";
      changed();
    },
    message: (data) => {
      for (const message of parseFrames<Message>(data)) this.apply(message);
      changed();
    },
    dropped: (event) => {
      if (event.code === SESSION_ENDED) {
        this.onSessionEnded();
        return null;
      }
      state.live = navigator.onLine ? "reconnecting" : "offline";
      changed();
      return this.retryDelay();
    },
  });
  private lastSeq: number | null = null;
  private attempts = 0;
  /** Each step of a coaching as it happens (the supervisor's panel tells why one ended). */
  onCoaching: (coaching: CoachingView) => void = () => undefined;

  constructor(
    private readonly agentId: () => string | null,
    private readonly onSessionEnded: () => void,
    private readonly onDropped: () => Promise<boolean>,
  ) {
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => {
      if (this.socket.running) {
        state.live = "offline";
        changed();
      }
    });
  }

  start(): void {
    this.lastSeq = null;
    this.attempts = 0;
    this.socket.start();
  }

  stop(): void {
    this.socket.stop("signed out");
  }

  /** The network is back: do not wait for the backoff, and do not trust a socket that may
   * have died silently meanwhile (resuming costs one replay). */
  reconnectNow(): void {
    if (!this.socket.running) return;
    this.attempts = 0;
    this.socket.reopen("network back");
  }

  private async retryDelay(): Promise<number | null> {
    this.attempts += 1;
    // A refused upgrade (401) looks like any other drop to a browser: ask once whether the
    // session still stands before trying again.
    if (this.attempts >= 2 && !(await this.onDropped())) return null;
    return backoffDelay(this.attempts, MAX_BACKOFF_MS);
  }

  private apply(message: Message): void {
    if (typeof message.at === "number") state.skew = message.at - Date.now() / 1000;
    if (message.type === "snapshot") {
      resetLive();
      const me = this.agentId();
      for (const agent of message.agents) {
        state.agents.set(agent.agent_id, agent);
        if (agent.agent_id === me) state.agent = agent;
      }
      for (const coaching of message.coachings ?? []) state.coachings.set(coaching.contact_id, coaching);
      state.surge = message.surge === true;
      for (const contact of message.contacts) state.contacts.set(contact.contact_id, contact);
      for (const transfer of message.transfers ?? []) {
        state.transfers.set(transfer.contact_id, transfer);
        logTransfer(transfer);
      }
      this.lastSeq = message.seq;
      return;
    }
    if (message.type !== "delta") return;
    if (this.lastSeq !== null && message.seq <= this.lastSeq) return; // already applied
    this.lastSeq = message.seq;
    switch (message.kind) {
      case "agent":
        if (message.id === this.agentId()) state.agent = message.data as AgentView | null;
        if (message.data === null) state.agents.delete(message.id);
        else state.agents.set(message.id, message.data as unknown as AgentView);
        break;
      case "coaching": {
        // An ended coaching comes once more (why it ended), then it is gone.
        const coaching = message.data as unknown as CoachingView | null;
        if (coaching === null || coaching.state === "ended") state.coachings.delete(message.id);
        else state.coachings.set(message.id, coaching);
        if (coaching !== null) this.onCoaching(coaching);
        break;
      }
      case "surge":
        state.surge = (message.data as { on?: boolean } | null)?.on === true;
        break;
      case "contact":
        if (message.data === null) state.contacts.delete(message.id);
        else state.contacts.set(message.id, message.data as unknown as ContactView);
        break;
      case "transfer":
        if (message.data === null) state.transfers.delete(message.id);
        else {
          const transfer = message.data as unknown as TransferView;
          state.transfers.set(message.id, transfer);
          logTransfer(transfer);
        }
        break;
      case "reset":
        // Everything older is void; the server follows with a fresh snapshot.
        resetLive();
        break;
      default:
        break;
    }
  }
}

function logTransfer(transfer: TransferView): void {
  const log = state.transferLog;
  const last = log[log.length - 1];
  // A new transfer (another contact, or the same child's next one) starts a new log.
  if (last !== undefined && (last.contactId !== transfer.contact_id || last.startedAt !== transfer.started_at)) {
    log.length = 0;
  }
  if (last !== undefined && log.length > 0 && last.state === transfer.state) return;
  log.push({
    contactId: transfer.contact_id,
    startedAt: transfer.started_at,
    state: transfer.state,
    reason: transfer.reason,
    at: transfer.updated_at,
  });
}
