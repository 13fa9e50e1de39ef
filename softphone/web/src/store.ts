// The page's state in one place; views subscribe and redraw what changed. Live facts come from
// the live bus (snapshot + deltas), the phone's from JsSIP; the server's clock is estimated
// from the bus's ``at`` so timers agree with the server's.
import type { AgentView, CoachingView, ContactView, Me, TransferView, Workspace } from "./types";

export type LiveStatus = "connecting" | "connected" | "reconnecting" | "offline";
export type SipStatus =
  | "off"
  | "connecting"
  | "registered"
  | "unregistered"
  | "failed"
  | "reconnecting"
  | "unavailable"
  /** The account's phone is a SIP phone elsewhere (desk phone, softphone), not this page. */
  | "external";
export type CallState = "none" | "ringing" | "answering" | "active" | "ended";

export interface CallInfo {
  state: CallState;
  held: boolean;
  muted: boolean;
  startedAt: number | null;
  /** The contact this call is, as the bus says (the offer, then the held contact). */
  contactId: string | null;
  /** A supervisor's coaching call (their own phone rung to listen in), not a contact. */
  coaching: boolean;
}

/** One line of a chat's transcript as the workspace shows it. */
export interface ChatLine {
  /** The server's number (null while the volunteer's own message is on its way). */
  seq: number | null;
  from: "child" | "volunteer" | "system";
  text: string;
  at: number;
  clientId: string | null;
  failed: boolean;
  /** The other side had a socket open when it was stored. */
  delivered: boolean;
}

/** A chat the volunteer holds (or held: ended, waiting for its registration). */
export interface ChatTab {
  id: string;
  peer: boolean;
  language: string | null;
  lines: ChatLine[];
  /** The highest of the volunteer's messages the child has read. */
  readByChild: number;
  /** The highest of the child's messages this volunteer has reported read. */
  readByMe: number;
  /** Until when (browser ms) "the child is typing" shows. */
  typingUntil: number;
  /** The hand-over note from a colleague (only for this volunteer). */
  note: string | null;
  /** How it ended (``child``, ``volunteer``, ``away``...), or ``handed_over`` once the chat
   * went to a colleague; null while it runs. */
  ended: string | null;
  openedAt: number;
  /** Child messages not seen yet (the tab was not the one shown). */
  unread: number;
}

export interface State {
  me: Me | null;
  workspace: Workspace | null;
  agent: AgentView | null;
  /** Every volunteer the bus shows: a volunteer sees only themself, a supervisor everyone. */
  agents: Map<string, AgentView>;
  contacts: Map<string, ContactView>;
  /** Coachings in progress by contact id (a supervisor's bus only). */
  coachings: Map<string, CoachingView>;
  /** Surge mode: new contacts go to supervisors and trained staff only. */
  surge: boolean;
  transfers: Map<string, TransferView>;
  /** The last transfer's steps as they happened, for the panel's log. */
  transferLog: {
    contactId: string;
    startedAt: number;
    state: string;
    reason: string;
    at: number;
  }[];
  live: LiveStatus;
  sip: SipStatus;
  call: CallInfo;
  /** Server time minus this browser's time, in seconds. */
  skew: number;
  notice: string | null;
  chats: Map<string, ChatTab>;
  /** The chat tab shown, if any. */
  activeChat: string | null;
  chatLink: "off" | "connecting" | "connected" | "reconnecting";
}

export const state: State = {
  me: null,
  workspace: null,
  agent: null,
  agents: new Map(),
  contacts: new Map(),
  coachings: new Map(),
  surge: false,
  transfers: new Map(),
  transferLog: [],
  live: "connecting",
  sip: "off",
  call: { state: "none", held: false, muted: false, startedAt: null, contactId: null, coaching: false },
  skew: 0,
  notice: null,
  chats: new Map(),
  activeChat: null,
  chatLink: "off",
};

type Listener = () => void;
const listeners: Listener[] = [];
let scheduled = false;

export function subscribe(listener: Listener): void {
  listeners.push(listener);
}

/** Redraw once after the current task, however many changes it made. */
export function changed(): void {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    for (const listener of listeners) listener();
  });
}

export function serverNow(): number {
  return Date.now() / 1000 + state.skew;
}

export function resetLive(): void {
  state.agent = null;
  state.agents.clear();
  state.contacts.clear();
  state.coachings.clear();
  state.transfers.clear();
}

const isChat = (channel: string | undefined): boolean => channel === "chat" || channel === "peer_chat";

/** The chat offered to this volunteer now (the bus's agent ``offer`` on a chat contact). */
export function chatOffer(): ContactView | null {
  const offer = state.agent?.offer ?? null;
  if (offer === null) return null;
  const contact = state.contacts.get(offer);
  return contact !== undefined && isChat(contact.channel) ? contact : null;
}

/** Whether the offer ringing for this volunteer is a call (not a chat). */
export function phoneOffered(): boolean {
  const agent = state.agent;
  return agent !== null && agent.state === "offered" && agent.offer !== null && chatOffer() === null;
}

/** The call ringing for this volunteer, or the one they hold (chats have tabs of their own). */
export function currentContact(): ContactView | null {
  const agent = state.agent;
  if (agent === null) return null;
  const offer = agent.offer !== null && chatOffer() === null ? agent.offer : null;
  const held = agent.contacts.find(([, channel]) => !isChat(channel));
  const id = offer ?? (held !== undefined ? held[0] : null);
  if (id === null) return null;
  return state.contacts.get(id) ?? null;
}

/** The chats this volunteer holds now, by the bus. */
export function heldChats(): string[] {
  return (state.agent?.contacts ?? []).filter(([, channel]) => isChat(channel)).map(([id]) => id);
}

export function currentTransfer(): TransferView | null {
  const contact = currentContact();
  if (contact !== null) return state.transfers.get(contact.contact_id) ?? null;
  // After the volunteer left (handed over) the contact is gone from their view: the last
  // transfer is still shown while they wrap up, and not after.
  if (state.agent?.state !== "wrap_up") return null;
  let latest: TransferView | null = null;
  for (const transfer of state.transfers.values()) {
    if (transfer.agent_id !== state.agent.agent_id) continue;
    if (latest === null || transfer.updated_at > latest.updated_at) latest = transfer;
  }
  return latest;
}
