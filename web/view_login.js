/**
 * @module The sign-in screen: dev login with a user id and name (demo mode), or a pasted JWT that
 * is checked against the API before it is used.
 */
import { publicCall, tokenClaims } from "./api.js";
import { $, isHttpUrl } from "./view.js";

const USER_ID = /^[A-Za-z0-9_\-=@,.;]{1,128}$/;

/**
 * Mounts the sign-in form; `onSignedIn(session)` gets the new session. Returns `show()`, which
 * prepares the screen each time it appears.
 * @param {{
 *   checkToken(token: string): Promise<void>,
 *   onSignedIn(session: import("./store.js").Session): void,
 * }} options `checkToken` rejects a token the API does not accept
 */
export function mountLogin({ checkToken, onSignedIn }) {
  $("login-user").addEventListener("input", () => {
    const name = $("login-name");
    if (!name.dataset.touched) {
      const id = $("login-user").value.trim();
      name.value = id ? id.charAt(0).toUpperCase() + id.slice(1) : "";
    }
  });
  $("login-name").addEventListener("input", () => $("login-name").dataset.touched = "1");
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("login-error");
    error.textContent = "";
    const button = event.submitter ?? $("login-form").querySelector("button[type=submit]");
    button.disabled = true;
    try {
      onSignedIn(await signIn());
    } catch (err) {
      error.textContent = err.status === 404
        ? "Dev login is off on this server: paste a token instead."
        : err.status === 401
        ? "That token was not accepted."
        : err.message;
    } finally {
      button.disabled = false;
    }
  });

  /** The session the form asks for. @throws {Error} with a message for the form */
  async function signIn() {
    const token = $("login-token").value.trim();
    if (token) {
      const claims = tokenClaims(token);
      await checkToken(token);
      return {
        token,
        user: { id: claims.sub, name: claims.name ?? claims.sub, avatar: claims.picture ?? null },
      };
    }
    const userId = $("login-user").value.trim();
    const name = $("login-name").value.trim() || userId;
    const avatarUrl = $("login-avatar").value.trim();
    if (!USER_ID.test(userId)) throw new Error("User id: use 1-128 letters, digits or _ - = @ , . ;");
    if (avatarUrl && !isHttpUrl(avatarUrl)) throw new Error("Avatar URL must start with http:// or https://");
    const { token: fresh } = await publicCall("POST", "/api/dev/login", {
      userId,
      name,
      ...(avatarUrl ? { avatar: avatarUrl } : {}),
    });
    return { token: fresh, user: { id: userId, name, avatar: avatarUrl || null } };
  }

  function show() {
    publicCall("GET", "/healthz").then((health) => {
      if (health?.mode !== "demo") {
        $("login-hint").textContent =
          "This server verifies real tokens. Paste a JWT below, or sign in with dev login if it is enabled.";
        $("login-token-box").open = true;
      }
    }).catch(() => {});
    $("login-user").focus();
  }

  return { show };
}
