// The shapes the page reads from the API and the live bus (see web/openapi.yaml and
// live/records.py). Only these fields are ever shown; none identifies a child.

export interface Volunteer {
  id: string;
  name: string;
  location: string;
  role: string;
}

export interface AgentView {
  agent_id: string;
  location_id: string;
  state: "logged_out" | "paused" | "available" | "offered" | "busy" | "wrap_up";
  reason: string;
  offer: string | null;
  /** [contact id, channel] pairs: the queue's channel, `phone` or `chat` (a peer chat too). */
  contacts: [string, string][];
  /** The kind of each of `contacts`, in order: `phone`, `chat` or `peer_chat` (absent from a
   * server older than the field: then the channel is all there is). */
  kinds?: string[];
  wrap_until: number | null;
  phone_registered: boolean;
  pending_pause: string | null;
  pending_logout: boolean;
  /** A supervisor coaching a call: offered nothing meanwhile, whatever `state` says. */
  coaching?: boolean;
  handled: number;
  since: number;
  /** What they may handle (``phone``, ``chat``, ``peer_chat``). */
  skills?: string[];
}

export interface ContactView {
  contact_id: string;
  channel: string;
  state: string;
  language: string | null;
  arrived_at: number;
  agent_id: string | null;
  answered_at: number | null;
  /** The line the child dialled, when the bus carries it. */
  line_id?: string | null;
}

export interface TransferView {
  contact_id: string;
  agent_id: string;
  partner_id: string;
  partner_name: string;
  mode: "consult" | "direct";
  region: string | null;
  state: string;
  reason: string;
  stayed: boolean;
  started_at: number;
  updated_at: number;
}

/** A supervisor's coaching of a volunteer's call (the live bus's ``coaching`` kind, for
 * supervisors only; see session/coaching_states.py). */
export interface CoachingView {
  contact_id: string;
  supervisor_id: string;
  /** The volunteer being coached. */
  agent_id: string;
  mode: "listen" | "whisper" | "barge";
  state: "ringing" | "active" | "ended";
  /** Why it ended (``stopped``, ``no_answer``, ``call_ended``...), or "". */
  reason: string;
  started_at: number;
  updated_at: number;
}

export interface Me {
  volunteer: Volunteer;
  location: string;
  agent: AgentView | null;
  csrf_token?: string;
}

export interface Partner {
  id: string;
  name: string;
  description: string;
  regions: string[];
  open_now: boolean;
  opens_at: string | null;
  closes_at: string | null;
}

/** One choice of the registration form: an id, maybe labels, maybe sub-choices. */
export interface Category {
  id: string;
  label?: string;
  labels?: Record<string, string>;
  sub?: Category[];
  subcategories?: Category[];
  children?: Category[];
}

export interface RegistrationConfig {
  contact_types?: (Category | string)[];
  topics?: (Category | string)[];
  age_bands?: (Category | string)[];
  genders?: (Category | string)[];
  notes_enabled?: boolean;
  notes_retention_days?: number | null;
  notes_max_length?: number | null;
  max_topics?: number;
}

export interface Workspace {
  /** The language of the labels (GET /api/v1/workspace?lang=...). */
  language?: string;
  languages?: string[];
  pause_reasons: (Category | string)[];
  registration?: RegistrationConfig;
}

export interface SavedRegistration {
  contact_type: string;
  topics: string[];
  age_band: string;
  gender: string;
  notes: string | null;
}

/** The wrap-up form of the volunteer's last contact (GET /api/v1/me/registration; null when
 * there is none). The referral names a directory partner by id. */
export interface RegistrationState {
  contact_id: string;
  channel: string;
  line_id: string | null;
  language: string | null;
  referral: { partner: string; region: string | null; volunteer_stayed?: boolean } | null;
  saved: boolean;
  wrap_until: number | null;
  open_until?: number;
  registration?: SavedRegistration | null;
}

export interface SipCredentials {
  username: string;
  password: string;
  realm: string;
  uri: string;
  ws_path: string;
  expires_at: string | number | null;
}

export interface Boot {
  helpline?: string;
  locations?: { id: string; name: string }[];
}
