// The app's HTTP API, same origin: the session is an HttpOnly cookie the page never sees, and
// every state-changing request carries the CSRF token the server handed out at sign-in (or
// with GET /api/v1/me after a reload). Nothing is kept in localStorage.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {},
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
  }
}

/** The server could not be reached at all (network down, server restarting). */
export class NetworkError extends Error {}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called once when a request finds the session gone (401), except for the sign-in itself. */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

async function request<T>(method: string, path: string, body?: unknown, signIn = false): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const init: RequestInit = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (csrfToken !== null) headers["X-CSRF-Token"] = csrfToken;
    init.body = JSON.stringify(body ?? {});
  }
  let resp: Response;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new NetworkError("network");
  }
  let data: Record<string, unknown> = {};
  const type = resp.headers.get("Content-Type") ?? "";
  if (type.includes("application/json")) {
    try {
      data = (await resp.json()) as Record<string, unknown>;
    } catch {
      data = {};
    }
  }
  if (!resp.ok) {
    if (resp.status === 401 && !signIn && onUnauthorized !== null) onUnauthorized();
    const retry = Number(resp.headers.get("Retry-After"));
    throw new ApiError(
      resp.status,
      typeof data.error === "string" ? data.error : "http_" + resp.status,
      typeof data.message === "string" ? data.message : resp.statusText,
      data,
      Number.isFinite(retry) && retry > 0 ? retry : null,
    );
  }
  return data as T;
}

export const api = {
  get: <T>(path: string) => request<T>("GET", path),
  post: <T>(path: string, body?: unknown) => request<T>("POST", path, body),
  del: <T>(path: string) => request<T>("DELETE", path),
  signIn: <T>(body: unknown) => request<T>("POST", "/api/v1/session", body, true),
};
