// The volunteer's chats: one WebSocket per workspace tab (WS /api/v1/me/chats/ws, the session
// cookie, the app's own origin) for messages, typing and read receipts both ways, and the HTTP
// API for accepting, declining, ending and handing over. After a reload or a dropped socket,
// GET /api/v1/me/chats brings back every chat held, with its transcript. Offers come from the
// live bus (the agent's offer on a chat contact), not from here.
import { api, ApiError } from "./api";
import { backoffDelay, jittered, parseFrames, ReconnectingSocket } from "./reconnecting";
import { changed, heldChats, state, type ChatLine, type ChatTab } from "./store";

const MAX_BACKOFF_MS = 5000;
const CHAT_OFF_RETRY_MS = 120_000;
const SESSION_ENDED = 4401;
export const TYPING_SHOWN_MS = 6000;

interface WireMessage {
  seq: number;
  from: "child" | "volunteer" | "system";
  text: string;
  at: number;
}

type ServerEvent =
  | ({ type: "msg"; chat: string } & WireMessage)
  | { type: "typing"; chat: string }
  | { type: "read"; chat: string; seq: number }
  | { type: "joined"; chat: string; note?: string | null; messages?: WireMessage[] }
  | { type: "left"; chat: string }
  | { type: "ended"; chat: string; by: string }
  | { type: "sent"; chat: string; client_id: string; seq: number; delivered?: boolean }
  | { type: "error"; chat?: string; code: string; message?: string; client_id?: string | null };

/** One held chat as GET /api/v1/me/chats gives it (field names read leniently). */
interface HeldChat {
  id?: string;
  chat?: string;
  contact_id?: string;
  kind?: string;
  peer?: boolean;
  language?: string | null;
  note?: string | null;
  opened?: number;
  messages?: WireMessage[];
  read?: number | { child?: number; volunteer?: number } | null;
}

export interface CannedText {
  id: string;
  label: string;
  text: string;
}

/** The server's transcript, with the volunteer's own messages still on their way after it. */
function replaceTranscript(tab: ChatTab, messages: WireMessage[]): void {
  const pending = tab.lines.filter((l) => l.seq === null);
  const lines: ChatLine[] = messages
    .slice()
    .sort((a, b) => a.seq - b.seq)
    .map((m) => ({ seq: m.seq, from: m.from, text: m.text, at: m.at, clientId: null, failed: false, delivered: true }));
  tab.lines = [...lines, ...pending];
}

export class ChatClient {
  private readonly socket = new ReconnectingSocket({
    path: () => "/api/v1/me/chats/ws",
    opening: () => {
      state.chatLink = this.attempts === 0 ? "connecting" : "reconnecting";
      changed();
    },
    opened: () => {
      this.attempts = 0;
      state.chatLink = "connected";
      // Whatever was missed while the socket was down: the transcripts again.
      void this.load();
      this.resendPending();
      changed();
    },
    message: (data) => {
      for (const event of parseFrames<ServerEvent>(data)) this.apply(event);
      changed();
    },
    dropped: (event) => {
      if (event.code === SESSION_ENDED) {
        this.onSessionEnded();
        return null;
      }
      this.attempts += 1;
      return this.retryDelay();
    },
  });
  private attempts = 0;
  private clientSeq = 0;
  /** Errors the page shows in the chat's tab (too long, too fast...). */
  onError: (chat: string | null, code: string, message: string) => void = () => undefined;

  constructor(private readonly onSessionEnded: () => void) {
    window.addEventListener("online", () => this.reconnectNow());
  }

  start(): void {
    this.attempts = 0;
    this.socket.start();
  }

  stop(): void {
    this.socket.stop("signed out");
    state.chats.clear();
    state.activeChat = null;
    state.chatLink = "off";
  }

  get isOpen(): boolean {
    return this.socket.isOpen;
  }

  private reconnectNow(): void {
    if (this.isOpen) return;
    this.socket.reopen("network back");
  }

  private async retryDelay(): Promise<number> {
    const failures = this.attempts;
    let off = false;
    state.chatLink = "reconnecting";
    if (failures >= 2) {
      // Refused again: is the chat served here at all? (One request per retry.)
      try {
        await api.get("/api/v1/me/chats");
      } catch (exc) {
        if (exc instanceof ApiError && (exc.status === 404 || exc.status === 503)) {
          state.chatLink = "off"; // no chat on this helpline (or not now): ask rarely
          off = true;
        }
      }
    }
    changed();
    return off ? jittered(CHAT_OFF_RETRY_MS) : backoffDelay(failures, MAX_BACKOFF_MS);
  }

  /** The chats held, with their transcripts (after a reload, a reconnect, a hand-over). */
  async load(): Promise<void> {
    let result: HeldChat[] | { chats?: HeldChat[] };
    try {
      result = await api.get<HeldChat[] | { chats?: HeldChat[] }>("/api/v1/me/chats");
    } catch {
      return; // the socket's next open asks again
    }
    const list = Array.isArray(result) ? result : (result.chats ?? []);
    // A chat that ended while the socket was down never said so: held by neither the server's
    // list nor the live bus, its tab is over (and stays for the registration).
    const listed = new Set(list.map((held) => held.id ?? held.chat ?? held.contact_id));
    const onBus = new Set(heldChats());
    for (const tab of state.chats.values()) {
      if (tab.ended === null && !listed.has(tab.id) && !onBus.has(tab.id) && state.agent?.offer !== tab.id) {
        tab.ended = "ended";
      }
    }
    for (const held of list) {
      const id = held.id ?? held.chat ?? held.contact_id;
      if (typeof id !== "string") continue;
      const tab = this.tab(id);
      tab.peer = held.kind === "peer" || held.peer === true;
      tab.language = held.language ?? tab.language;
      if (held.note) tab.note = held.note;
      if (typeof held.opened === "number") tab.openedAt = held.opened;
      const read = held.read;
      if (typeof read === "number") tab.readByChild = Math.max(tab.readByChild, read);
      else if (read && typeof read === "object") {
        tab.readByChild = Math.max(tab.readByChild, read.child ?? 0);
        tab.readByMe = Math.max(tab.readByMe, read.volunteer ?? 0);
      }
      if (held.messages !== undefined) replaceTranscript(tab, held.messages);
    }
    changed();
  }

  /** The tab of chat ``id``, made when first seen. */
  tab(id: string): ChatTab {
    let tab = state.chats.get(id);
    if (tab === undefined) {
      const contact = state.contacts.get(id);
      tab = {
        id,
        peer: false,
        language: contact?.language ?? null,
        lines: [],
        readByChild: 0,
        readByMe: 0,
        typingUntil: 0,
        note: null,
        ended: null,
        openedAt: Date.now() / 1000,
        unread: 0,
      };
      state.chats.set(id, tab);
      if (state.activeChat === null) state.activeChat = id;
    }
    return tab;
  }

  private apply(event: ServerEvent): void {
    if (typeof event !== "object" || event === null) return;
    if (event.type === "error") {
      if (typeof event.client_id === "string" && event.chat !== undefined) {
        const line = state.chats.get(event.chat)?.lines.find((l) => l.clientId === event.client_id);
        if (line !== undefined) line.failed = true;
      }
      this.onError(event.chat ?? null, event.code, event.message ?? "");
      return;
    }
    const known = state.chats.get(event.chat);
    switch (event.type) {
      case "joined": {
        const tab = this.tab(event.chat);
        tab.ended = null;
        if (event.note) tab.note = event.note;
        // A chat handed to us has a past: its transcript.
        if (event.messages !== undefined) replaceTranscript(tab, event.messages);
        // What the frame does not say (a peer chat?): from the list of held chats.
        if (known === undefined || event.messages === undefined) void this.load();
        break;
      }
      case "msg": {
        const tab = this.tab(event.chat);
        if (tab.lines.some((l) => l.seq === event.seq)) break;
        tab.lines.push({ seq: event.seq, from: event.from, text: event.text, at: event.at, clientId: null, failed: false, delivered: true });
        if (event.from === "child") {
          tab.typingUntil = 0;
          if (state.activeChat !== event.chat || document.visibilityState !== "visible") tab.unread += 1;
        }
        break;
      }
      case "typing":
        if (known !== undefined) known.typingUntil = Date.now() + TYPING_SHOWN_MS;
        break;
      case "read":
        if (known !== undefined) known.readByChild = Math.max(known.readByChild, event.seq);
        break;
      case "sent": {
        const line = known?.lines.find((l) => l.clientId === event.client_id);
        if (line !== undefined) {
          line.seq = event.seq;
          line.failed = false;
          line.delivered = event.delivered === true;
        }
        break;
      }
      case "left":
        if (known !== undefined) known.ended = "handed_over";
        break;
      case "ended":
        if (known !== undefined) {
          known.ended = event.by;
          known.typingUntil = 0;
        }
        break;
      default:
        break;
    }
  }

  send(chat: string, text: string): void {
    const tab = this.tab(chat);
    this.clientSeq += 1;
    const clientId = `v${Date.now().toString(36)}${this.clientSeq}`;
    const line: ChatLine = { seq: null, from: "volunteer", text, at: Date.now() / 1000, clientId, failed: false, delivered: false };
    tab.lines.push(line);
    // Not open now: sent when the socket is back (resendPending).
    this.raw({ type: "msg", chat, client_id: clientId, text });
    changed();
  }

  /** Send, and resolve once the server stored it (true) or refused it or took too long. */
  sendAndWait(chat: string, text: string, timeoutMs = 3000): Promise<boolean> {
    this.send(chat, text);
    const line = state.chats.get(chat)?.lines.at(-1);
    return new Promise((resolve) => {
      const started = Date.now();
      const check = () => {
        if (line === undefined || line.failed) resolve(false);
        else if (line.seq !== null) resolve(true);
        else if (Date.now() - started > timeoutMs) resolve(false);
        else window.setTimeout(check, 50);
      };
      check();
    });
  }

  retry(chat: string, line: ChatLine): void {
    const tab = state.chats.get(chat);
    if (tab === undefined) return;
    tab.lines = tab.lines.filter((l) => l !== line);
    this.send(chat, line.text);
  }

  private resendPending(): void {
    for (const tab of state.chats.values()) {
      if (tab.ended !== null) continue;
      for (const line of tab.lines) {
        if (line.seq === null && line.clientId !== null && !line.failed) {
          this.raw({ type: "msg", chat: tab.id, client_id: line.clientId, text: line.text });
        }
      }
    }
  }

  typing(chat: string): void {
    this.raw({ type: "typing", chat });
  }

  /** Report the child's messages up to the newest as read (the tab is shown). */
  markRead(chat: string): void {
    const tab = state.chats.get(chat);
    if (tab === undefined || document.visibilityState !== "visible") return;
    tab.unread = 0;
    let highest = 0;
    for (const line of tab.lines) if (line.from === "child" && line.seq !== null) highest = Math.max(highest, line.seq);
    if (highest > tab.readByMe && this.raw({ type: "read", chat, seq: highest })) tab.readByMe = highest;
  }

  private raw(event: Record<string, unknown>): boolean {
    return this.socket.send(JSON.stringify(event));
  }

  async accept(id: string): Promise<void> {
    await api.post(`/api/v1/me/chats/${encodeURIComponent(id)}/accept`);
    this.tab(id);
    state.activeChat = id;
    changed();
    void this.load();
  }

  async decline(id: string): Promise<void> {
    await api.post(`/api/v1/me/chats/${encodeURIComponent(id)}/decline`);
  }

  async end(id: string, block: boolean): Promise<void> {
    await api.post(`/api/v1/me/chats/${encodeURIComponent(id)}/end`, { block });
  }

  async handoff(id: string, to: string, note: string): Promise<void> {
    await api.post(`/api/v1/me/chats/${encodeURIComponent(id)}/handoff`, { to, note });
  }

  async canned(lang: string): Promise<CannedText[]> {
    const result = await api.get<CannedText[] | { canned?: CannedText[] }>(`/api/v1/chat/canned?lang=${lang}`);
    return Array.isArray(result) ? result : (result.canned ?? []);
  }
}
