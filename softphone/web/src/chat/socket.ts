// The child's WebSocket (WS /api/v1/chat/ws?token=...), reconnecting by itself: after a network
// blip, a locked phone or a server restart it opens again with the same token, and the
// server's "hello" brings the whole conversation back. It stops for good when the server says
// the chat is over (an "ended" message, or a close code of its own) or when the page asks.
import { backoffDelay, ReconnectingSocket } from "../reconnecting";

export interface WireMessage {
  seq: number;
  from: "child" | "volunteer" | "system";
  text: string;
  at: number;
}

export type ServerEvent =
  | {
      type: "hello";
      state: string;
      position?: number | null;
      wait_s?: number | null;
      messages?: WireMessage[];
      read?: number | null;
    }
  | { type: "queue"; position?: number | null; wait_s?: number | null }
  | { type: "joined" }
  | ({ type: "msg" } & WireMessage)
  | { type: "typing" }
  | { type: "read"; seq: number }
  | { type: "sent"; client_id: string; seq: number; delivered?: boolean }
  | { type: "ended"; by: string }
  | { type: "error"; code: string; message?: string; client_id?: string | null };

export type ClientEvent =
  | { type: "msg"; client_id: string; text: string }
  | { type: "typing" }
  | { type: "read"; seq: number }
  | { type: "end" };

export type Link = "connecting" | "open" | "reconnecting";

export interface SocketHandlers {
  event(event: ServerEvent): void;
  link(state: Link): void;
  /** The chat cannot be resumed (unknown or expired token, blocked): ``reason`` for the page. */
  gone(reason: "gone" | "blocked"): void;
}

const MAX_BACKOFF_MS = 3000; // a child who waits longer may take the silence for the end
/** Failed opens in a row, with the server reachable, after which the chat is taken as gone. */
const GIVE_UP_AFTER = 8;
// The server's own close codes (4000-4999) say why it will not take this token again.
const BLOCKED_CODES = new Set([4403]);

export class ChildSocket {
  private readonly socket = new ReconnectingSocket({
    // A browser cannot set headers on a WebSocket: the token goes in the query (the server
    // never logs it).
    path: () => `/api/v1/chat/ws?token=${encodeURIComponent(this.token)}`,
    opening: (again) => {
      this.hello = false;
      this.handlers.link(again ? "reconnecting" : "connecting");
    },
    message: (data) => this.receive(data),
    dropped: (close) => {
      if (close.code >= 4000 && close.code < 5000) {
        this.stop();
        this.handlers.gone(BLOCKED_CODES.has(close.code) ? "blocked" : "gone");
        return null;
      }
      if (!this.hello) this.failures += 1;
      return this.retryDelay();
    },
  });
  /** Whether the socket now open said hello (the server took the token). */
  private hello = false;
  private failures = 0;

  constructor(
    private readonly token: string,
    private readonly handlers: SocketHandlers,
    private readonly serverReachable: () => Promise<boolean>,
  ) {
    window.addEventListener("online", this.wake);
    document.addEventListener("visibilitychange", this.onVisible);
  }

  start(): void {
    this.socket.start();
  }

  /** Close for good (the chat ended, quick exit, a new chat). */
  stop(): void {
    window.removeEventListener("online", this.wake);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.socket.stop("bye");
  }

  get isOpen(): boolean {
    return this.socket.isOpen;
  }

  send(event: ClientEvent): boolean {
    return this.socket.send(JSON.stringify(event));
  }

  private readonly onVisible = (): void => {
    // A phone that was locked may hold a socket that died silently: check on return.
    if (document.visibilityState === "visible" && !this.isOpen) this.wake();
  };

  /** The network is back: do not wait for the backoff. */
  private readonly wake = (): void => {
    if (!this.isOpen) this.socket.reopen("retry");
  };

  private receive(data: string): void {
    let event: ServerEvent;
    try {
      event = JSON.parse(data) as ServerEvent;
    } catch {
      return;
    }
    if (typeof event !== "object" || event === null || typeof event.type !== "string") return;
    if (event.type === "hello") {
      this.hello = true;
      this.failures = 0;
      this.handlers.link("open");
    }
    this.handlers.event(event);
    if (event.type === "ended") this.stop();
    else if (event.type === "error" && event.code === "blocked") {
      this.stop();
      this.handlers.gone("blocked");
    }
  }

  private async retryDelay(): Promise<number | null> {
    this.handlers.link("reconnecting");
    // A refused upgrade (unknown token) looks like any other drop to a browser: when the
    // server answers other requests but never this socket, the chat is over.
    if (this.failures >= GIVE_UP_AFTER && navigator.onLine && (await this.serverReachable())) {
      if (!this.socket.running) return null;
      this.stop();
      this.handlers.gone("gone");
      return null;
    }
    return backoffDelay(this.failures, MAX_BACKOFF_MS);
  }
}
