// A supervisor's actions on colleagues (web/supervisor_api.py): coach a volunteer's call
// (listen, whisper, barge, switch, stop), pause or log out a volunteer, switch surge mode; and
// the volunteers' names, which the live bus does not carry (GET /api/v1/supervisor/volunteers,
// asked once per volunteer not seen before). A refusal is an ApiError; refusalText puts it in
// words. Nothing here holds anything about a child: ids, names, states and channels only.
import { api, ApiError } from "./api";
import { has, t } from "./i18n";
import { changed, phoneOffered, state } from "./store";
import type { AgentView, CoachingView } from "./types";

/** The caller id user of a coaching call (`session.coaching_states.COACHING_CALLER_ID`). */
export const COACHING_CALLER = "coaching";

export type CoachMode = CoachingView["mode"];
export const MODES: CoachMode[] = ["listen", "whisper", "barge"];

/** The server rings the supervisor's phone for 30 s (SUPERVISOR_RING_S); a margin on top. */
const EXPECT_RING_MS = 35_000;

const path = (agentId: string, rest = "") =>
  `/api/v1/supervisor/volunteers/${encodeURIComponent(agentId)}${rest}`;

export class Coach {
  private readonly names = new Map<string, string>();
  private readonly asked = new Set<string>();
  private asking = false;
  /** When this supervisor last asked for a coaching call (browser ms), until it rings. */
  private expecting: number | null = null;

  get me(): string | null {
    return state.me?.volunteer.id ?? null;
  }

  get isSupervisor(): boolean {
    return state.me?.volunteer.role === "supervisor";
  }

  /** Signed out: nothing of this shift is kept. */
  forget(): void {
    this.names.clear();
    this.asked.clear();
    this.expecting = null;
  }

  nameOf(id: string): string {
    return this.names.get(id) ?? id;
  }

  /** Ask for the names of volunteers not seen before: one request for all of them, and not
   * again for the same ones (a refusal leaves their ids shown). */
  learnNames(ids: Iterable<string>): void {
    if (this.asking || !this.isSupervisor) return;
    const unknown = [...ids].filter((id) => !this.names.has(id) && !this.asked.has(id));
    if (unknown.length === 0) return;
    for (const id of unknown) this.asked.add(id);
    this.asking = true;
    api
      .get<{ volunteers: { id: string; name: string }[] }>("/api/v1/supervisor/volunteers")
      .then((result) => {
        for (const v of result.volunteers) this.names.set(v.id, v.name);
        changed();
      })
      .catch(() => undefined)
      .finally(() => {
        this.asking = false;
      });
  }

  /** The volunteers this supervisor may act on: everyone the bus shows but themself, by name. */
  volunteers(): AgentView[] {
    const me = this.me;
    return [...state.agents.values()]
      .filter((agent) => agent.agent_id !== me)
      .sort((a, b) => this.nameOf(a.agent_id).localeCompare(this.nameOf(b.agent_id)) || a.agent_id.localeCompare(b.agent_id));
  }

  /** The coaching of this volunteer's call now, whoever coaches it. */
  coachingOf(agentId: string): CoachingView | null {
    for (const coaching of state.coachings.values()) if (coaching.agent_id === agentId) return coaching;
    return null;
  }

  /** Whether an INVITE arriving now is this supervisor's coaching call: it comes from the
   * coaching caller id (a child's call shows the helpline's number), one was asked for (and
   * has not rung yet) and no child's call is being offered to them. Claimed once. */
  claimCall(fromUser: string): boolean {
    if (fromUser !== COACHING_CALLER || !this.isSupervisor || phoneOffered()) return false;
    const me = this.me;
    const ringing = [...state.coachings.values()].some((c) => c.supervisor_id === me && c.state === "ringing");
    const asked = this.expecting !== null && Date.now() - this.expecting < EXPECT_RING_MS;
    this.expecting = null;
    return ringing || asked;
  }

  async start(agentId: string, mode: CoachMode): Promise<void> {
    // Before the request: the INVITE may reach the page before the answer does.
    this.expecting = Date.now();
    try {
      await this.post<{ coaching: CoachingView }>(path(agentId, "/coaching"), { mode });
    } catch (exc) {
      this.expecting = null;
      throw exc;
    }
  }

  async setMode(agentId: string, mode: CoachMode): Promise<void> {
    await this.post(path(agentId, "/coaching/mode"), { mode });
  }

  async stop(agentId: string): Promise<void> {
    await this.post(path(agentId, "/coaching/stop"));
  }

  async pause(agentId: string, reason: string): Promise<void> {
    await this.post(path(agentId, "/pause"), { reason });
  }

  async logout(agentId: string): Promise<void> {
    await this.post(path(agentId, "/logout"));
  }

  async setSurge(on: boolean): Promise<void> {
    const result = await this.post<{ surge: boolean }>("/api/v1/supervisor/surge", { on });
    state.surge = result.surge; // the bus says so too; this is at once
  }

  private async post<T>(url: string, body?: unknown): Promise<T> {
    const result = await api.post<T & { coaching?: CoachingView }>(url, body);
    // The answer is as current as the bus (which follows): shown at once.
    const coaching = result.coaching;
    if (coaching !== undefined) {
      if (coaching.state === "ended") state.coachings.delete(coaching.contact_id);
      else state.coachings.set(coaching.contact_id, coaching);
    }
    changed();
    return result;
  }
}

/** A refusal of the supervisor API (or no answer at all) in words, about volunteer ``name``. */
export function refusalText(exc: unknown, name: string): string {
  if (!(exc instanceof ApiError)) return t("err.network");
  if (has(`coach.err.${exc.code}`)) return t(`coach.err.${exc.code}`, { name });
  return t("coach.err.other", { status: exc.status, message: exc.message });
}

/** Why this supervisor's coaching ended, in words (null when there is nothing to say). */
export function endedText(coaching: CoachingView, name: string): string | null {
  if (coaching.reason === "" || coaching.reason === "stopped") return null;
  const key = has(`coach.ended.${coaching.reason}`) ? `coach.ended.${coaching.reason}` : "coach.ended.other";
  return t(key, { name });
}
