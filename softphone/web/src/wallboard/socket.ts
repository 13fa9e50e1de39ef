// The wallboard's side of the live state bus: /api/v1/live as a supervisor, keeping only the
// queue figures' `board`. Reconnects by itself (resuming with ?after=<seq>); nothing is polled.
import { backoffDelay, parseFrames, ReconnectingSocket } from "../reconnecting";

export const KINDS = ["phone", "chat", "peer_chat", "total"] as const;
export const STATES = ["available", "offered", "busy", "wrap_up", "paused"] as const;
export type Live = "connecting" | "connected" | "reconnecting";

export interface KindFigures {
  waiting: number;
  ringing: number;
  in_contact: number;
  longest_wait_since: number | null;
  answered: number;
  abandoned: number;
  overflowed: number;
  service_level: Record<string, { answered_only: number | null; with_abandons: number | null }>;
  asa_s: number | null;
  aht_s: number | null;
  talk_avg_s: number | null;
  wrap_avg_s: number | null;
}

export interface Alert {
  kind: "asterisk_down" | "queue_over" | "phone_replaced";
  since?: number;
  at?: number;
  channel?: string;
  waiting?: number;
  threshold?: number;
  agent_id?: string;
}

export interface Board {
  service_level_s: number[];
  kinds: Record<(typeof KINDS)[number], KindFigures>;
  agents: Record<string, number>;
  paused_by_reason: Record<string, number>;
  locations: Record<string, Record<string, number>>;
  transfers: number;
  /** Supervisors coaching a call: counted in `agents` too, but offered nothing meanwhile. */
  coaching: number;
  lines: { line: string; channel: string; open: boolean }[];
  partners: { id: string; name: string; open: boolean }[];
  alerts: Alert[];
  /** Null, or when the app became the writer while today's earlier contacts are being read. */
  today_from?: number | null;
  /** Null, or since when wrap-up is known (the contact records hold none): see AHT. */
  wrap_up_from?: number | null;
}

interface Message {
  type: "snapshot" | "delta";
  seq: number;
  at?: number;
  kind?: string;
  queue?: { board?: Board };
  data?: { board?: Board } | null;
}

const SESSION_ENDED = 4401;
const MAX_BACKOFF_MS = 5000;

export class BoardSocket {
  board: Board | null = null;
  /** When the page last took a new board (Date.now()): the bench's "reached the browser". */
  receivedAt: number | null = null;
  private readonly socket = new ReconnectingSocket({
    path: () => (this.lastSeq === null ? "/api/v1/live" : `/api/v1/live?after=${this.lastSeq}`),
    opening: () => this.onLive(this.lastSeq === null ? "connecting" : "reconnecting"),
    opened: () => {
      this.attempts = 0;
      this.onLive("connected");
    },
    message: (data) => {
      for (const message of parseFrames<Message>(data)) this.apply(message);
    },
    dropped: (event) => {
      if (event.code === SESSION_ENDED) {
        this.onSessionEnded();
        return null;
      }
      this.onLive("reconnecting");
      this.attempts += 1;
      return backoffDelay(this.attempts, MAX_BACKOFF_MS);
    },
  });
  private lastSeq: number | null = null;
  private attempts = 0;

  constructor(
    private readonly onBoard: (board: Board, at: number) => void,
    private readonly onLive: (state: Live) => void,
    private readonly onSessionEnded: () => void,
  ) {
    window.addEventListener("online", () => {
      if (this.socket.down) this.socket.reopen("network back");
    });
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.socket.stop("signed out");
  }

  private apply(message: Message): void {
    const at = typeof message.at === "number" ? message.at : Date.now() / 1000;
    if (message.type === "snapshot") {
      this.lastSeq = message.seq;
      if (message.queue?.board) this.take(message.queue.board, at);
      return;
    }
    if (message.type !== "delta") return;
    if (this.lastSeq !== null && message.seq <= this.lastSeq) return;
    this.lastSeq = message.seq;
    if (message.kind === "queue" && message.data?.board) this.take(message.data.board, at);
  }

  private take(board: Board, at: number): void {
    this.board = board;
    this.onBoard(board, at);
    this.receivedAt = Date.now();
  }
}
