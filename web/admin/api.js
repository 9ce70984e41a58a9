/**
 * @module The console's only way to the server: `/api/admin/*` with the admin
 * key, which is typed in once and kept in this tab's `sessionStorage`.
 */

const KEY = "durable-chat.adminKey";

/** The key of this tab, or null before sign-in. */
export function adminKey() {
  return sessionStorage.getItem(KEY);
}

/** Keeps the key for this tab (cleared when the tab closes). */
export function rememberKey(key) {
  sessionStorage.setItem(KEY, key);
}

/** Forgets the key (sign out, or the server refused it). */
export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

/** The server refused the key (401), or the admin API is off (404 on every admin route). */
export class AuthError extends Error {}

/**
 * Calls an admin route; resolves with its JSON, rejects with `AuthError` on
 * 401 and with an Error carrying the server's `{error}` otherwise.
 */
export async function admin(path, options = {}) {
  const key = options.key ?? adminKey();
  if (!key) throw new AuthError("Not signed in");
  const res = await fetch(`/api/admin${path}`, {
    method: options.method ?? "GET",
    headers: {
      "X-Admin-Key": key,
      ...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new AuthError("The server did not accept this admin key");
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}
