// A supervisor reading along with one chat: WS /api/v1/supervise/chats/{id}/ws (the session
// cookie, this origin). The server sends ``hello`` with the transcript, then each ``msg`` and
// finally ``ended`` (and closes). Nothing is ever sent to the chat: the socket is read-only.
// A dropped socket is opened again (the next ``hello`` brings what was missed) for as long
// as the chat is still on the live bus.
import { backoffDelay, parseFrames, ReconnectingSocket } from "./reconnecting";

const SESSION_ENDED = 4401;
const MAX_ATTEMPTS = 6;
const MAX_BACKOFF_MS = 5000;

export interface ReadLine {
  seq: number;
  from: "child" | "volunteer" | "system";
  text: string;
  at: number;
}

type Frame =
  | { type: "hello"; messages?: ReadLine[] }
  | ({ type: "msg" } & ReadLine)
  | { type: "ended"; by?: string }
  | { type: "error"; code?: string };

export type ReadStatus = "connecting" | "open" | "reconnecting" | "failed";

export class ReadAlong {
  lines: ReadLine[] = [];
  status: ReadStatus = "connecting";
  /** How the chat ended (``child``, ``volunteer``, ``away``..., or ``gone`` when it left the
   * bus while the socket was down); null while it runs. */
  ended: string | null = null;
  private attempts = 0;
  private readonly socket = new ReconnectingSocket({
    path: () => `/api/v1/supervise/chats/${encodeURIComponent(this.chatId)}/ws`,
    opened: () => {
      this.attempts = 0;
      this.status = "open";
      this.onChange();
    },
    message: (data) => {
      for (const frame of parseFrames<Frame>(data)) this.apply(frame);
      this.onChange();
    },
    dropped: (event) => {
      if (this.ended !== null) return null;
      if (event.code === SESSION_ENDED) {
        this.onSessionEnded();
        return null;
      }
      let delay: number | null = null;
      if (!this.stillThere()) {
        this.ended = "gone";
      } else if (this.attempts >= MAX_ATTEMPTS) {
        this.status = "failed";
      } else {
        this.attempts += 1;
        this.status = "reconnecting";
        delay = backoffDelay(this.attempts, MAX_BACKOFF_MS);
      }
      this.onChange();
      return delay;
    },
  });

  constructor(
    readonly chatId: string,
    private readonly onChange: () => void,
    private readonly onSessionEnded: () => void,
    /** Whether the chat is still held by a volunteer (by the live bus). */
    private readonly stillThere: () => boolean,
  ) {
    this.socket.start();
  }

  stop(): void {
    this.socket.stop("done reading");
  }

  private apply(frame: Frame): void {
    if (typeof frame !== "object" || frame === null) return;
    switch (frame.type) {
      case "hello":
        // The whole transcript so far: it replaces what a dropped socket left.
        this.lines = (frame.messages ?? []).slice().sort((a, b) => a.seq - b.seq);
        break;
      case "msg":
        if (!this.lines.some((l) => l.seq === frame.seq)) {
          this.lines.push({ seq: frame.seq, from: frame.from, text: frame.text, at: frame.at });
        }
        break;
      case "ended":
        this.ended = frame.by ?? "ended";
        this.stop();
        break;
      default:
        break; // an error frame: the close that follows decides
    }
  }
}
