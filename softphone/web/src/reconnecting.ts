// What the page's five WebSocket clients (the live bus, the volunteer's chats, the wallboard, a
// supervisor reading along, the child's chat) have in common: one socket at a time on this
// page's origin, events from a socket that was replaced or closed ignored, a clean close, and
// the next try after a backoff. What a frame means, and whether and when to try again after a
// drop, stays with each client (the `dropped` hook).
//
// Not a library (reconnecting-websocket, partysocket): their retry policy is set once in
// options, while each client here decides per drop, some only after asking the server (is the
// session still there? is the chat served at all?) or on the server's own close codes (4401,
// 4xxx); and the child's chat page would carry the weight too.

/** The first retry's delay before jitter; each further failure doubles it, up to a cap. */
const FIRST_BACKOFF_MS = 250;
const MAX_DOUBLINGS = 5;

/** ``ws://`` or ``wss://`` (as the page itself came) to ``path`` on this page's origin. */
export function socketUrl(path: string): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${path}`;
}

/** Somewhere between half of ``ms`` and all of it, so that many pages dropped by one restart
 * do not all come back in the same instant. */
export function jittered(ms: number): number {
  return ms / 2 + Math.random() * (ms / 2);
}

/** The wait before the next try after ``failures`` failed tries in a row: 250 ms doubled per
 * failure (five times at most), up to ``capMs``, jittered. */
export function backoffDelay(failures: number, capMs: number): number {
  return jittered(Math.min(capMs, FIRST_BACKOFF_MS * 2 ** Math.min(failures, MAX_DOUBLINGS)));
}

/** The frames in one text message: the server may send one JSON object or an array of them;
 * what does not parse is nothing. */
export function parseFrames<T>(data: string): T[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return [];
  }
  return (Array.isArray(parsed) ? parsed : [parsed]) as T[];
}

export interface SocketHooks {
  /** The path (and query) to open, asked before each open: a resume may depend on what came. */
  path(): string;
  /** Just before each open; ``again`` is false only for the first after start(). */
  opening?(again: boolean): void;
  /** The socket is open (on some servers that already means signed in). */
  opened?(): void;
  /** One text frame. */
  message(data: string): void;
  /** The socket closed by itself (not by stop() or reopen()): the delay before the next try,
   * or null to stay down. Asked once per drop; it may ask the server first. */
  dropped(event: CloseEvent): number | null | Promise<number | null>;
}

/** One WebSocket at a time, opened again after a drop as long as it is not stopped. */
export class ReconnectingSocket {
  private ws: WebSocket | null = null;
  private timer: number | null = null;
  private stopped = true;

  constructor(private readonly hooks: SocketHooks) {}

  /** Started and not stopped since (its socket may be down, waiting for the next try). */
  get running(): boolean {
    return !this.stopped;
  }

  /** No socket at all, not even one connecting: between a drop and the next try, or stopped. */
  get down(): boolean {
    return this.ws === null;
  }

  get isOpen(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.open(false);
  }

  /** Close for good (until the next start()); no hook is called for this close. */
  stop(reason: string): void {
    this.stopped = true;
    this.drop(reason);
  }

  /** Open now rather than after the backoff: the network is back, and a socket that may have
   * died silently meanwhile is closed first. Nothing when stopped. */
  reopen(reason: string): void {
    if (this.stopped) return;
    this.drop(reason);
    this.open(true);
  }

  /** Send a frame if the socket is open (false: not sent). */
  send(data: string): boolean {
    if (!this.isOpen) return false;
    this.ws?.send(data);
    return true;
  }

  private drop(reason: string): void {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null; // before close(): its close event is then a replaced socket's, ignored
    ws?.close(1000, reason);
  }

  private open(again: boolean): void {
    this.hooks.opening?.(again);
    const ws = new WebSocket(socketUrl(this.hooks.path()));
    this.ws = ws;
    // A replaced or closed socket's late events are ignored: only the current one speaks.
    ws.onopen = () => {
      if (this.ws === ws) this.hooks.opened?.();
    };
    ws.onmessage = (event) => {
      if (this.ws === ws) this.hooks.message(String(event.data));
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      const next = this.hooks.dropped(event);
      if (next instanceof Promise) void next.then((delay) => this.retryIn(delay));
      else this.retryIn(next);
    };
  }

  private retryIn(delay: number | null): void {
    // Stopped, or opened again (reopen()) while the hook was asking the server: no timer.
    if (delay === null || this.stopped || this.ws !== null) return;
    this.timer = window.setTimeout(() => {
      this.timer = null;
      if (!this.stopped && this.ws === null) this.open(true);
    }, delay);
  }
}
