/** @module The HTTP API as the browser sees it: the stored session and a JSON fetch helper. */

const SESSION_KEY = "durable-chat.session";

/** An error answer of the API: `status` and the server's `{error}` text. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {Headers} [headers]
   */
  constructor(status, message, headers) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.headers = headers;
  }
}

/**
 * The signed-in user and their token, kept in localStorage so a reload stays signed in.
 * @returns {{token: string, user: {id: string, name: string, avatar: string | null}} | null}
 */
export function loadSession() {
  try {
    const session = JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null");
    if (!session?.token || !session?.user?.id) return null;
    const exp = tokenExpiry(session.token);
    if (exp !== null && exp * 1000 < Date.now()) return null;
    return session;
  } catch {
    return null;
  }
}

/** Remembers the session for the next visit. */
export function saveSession(session) {
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

/** Forgets the session (sign out). */
export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
}

/** The claims of a JWT, without verifying it (the server does that). */
export function tokenClaims(token) {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT");
  const b64 = part.replaceAll("-", "+").replaceAll("_", "/");
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function tokenExpiry(token) {
  try {
    const { exp } = tokenClaims(token);
    return typeof exp === "number" ? exp : null;
  } catch {
    return null;
  }
}

/**
 * A function that calls the API and returns its JSON body:
 * `request(method, path, body?, {signal}?)`, throwing {@link ApiError} for any non-2xx answer.
 * @param {{
 *   token?: () => string | null | undefined,
 *   onUnauthorized?: () => void,
 *   fetch?: (path: string, init: RequestInit) => Promise<Response>,
 * }} options `token` gives the bearer token of each call; `onUnauthorized` runs on a 401 of a
 * call that carried one (the token was rejected); `fetch` defaults to the browser's.
 */
export function createRequest(options = {}) {
  const { token = () => null, onUnauthorized = () => {}, fetch = globalThis.fetch } = options;
  return async function request(method, path, body, { signal } = {}) {
    const bearer = token();
    const headers = { Accept: "application/json" };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (err?.name === "AbortError") throw err;
      throw new ApiError(0, "Cannot reach the server");
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      if (res.status === 401 && bearer) onUnauthorized();
      throw new ApiError(res.status, data?.error ?? `${res.status} ${res.statusText}`, res.headers);
    }
    return data;
  };
}

/** A query string from the defined entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
