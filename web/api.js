/** @module The session as the browser keeps it, and the calls made before there is one. */

const SESSION_KEY = "durable-chat.session";

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
 * `GET /healthz` and `POST /api/dev/login`: the only calls made before there is a session, so not
 * the SDK's (a production app has no dev login). Everything else goes through the SDK (client/).
 * @throws {Error} with the server's `{error}` and its `status`
 */
export async function publicCall(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    throw Object.assign(new Error(data?.error ?? `${res.status} ${res.statusText}`), { status: res.status });
  }
  return data;
}
