/**
 * @module A user's profile dialog: name, presence, follower counts, Follow / Following and
 * Message. Whom the user follows is remembered per browser, for servers that do not say.
 */
import { me } from "./store.js";
import { $, avatar, fullTime, toast } from "./view.js";

const FOLLOWING_KEY = "durable-chat.following";

/**
 * Mounts the dialog; returns `openProfile(userId)`.
 * @param {{store: any, chat: any, startChat(userId: string): Promise<void>}} ctx
 */
export function mountProfile(ctx) {
  const { store, chat } = ctx;
  const dialog = $("profile-dialog");
  let shown = null;

  dialog.addEventListener("close", () => store.dispatch({ type: "profile/closed" }));
  $("profile-follow").addEventListener("click", toggleFollow);
  $("profile-message").addEventListener("click", async () => {
    const userId = store.getState().profile?.userId;
    dialog.close();
    try {
      await ctx.startChat(userId);
    } catch (err) {
      toast(err.message, "error");
    }
  });

  store.subscribe(render);

  function render(state) {
    const profile = state.profile;
    if (profile === shown) return;
    shown = profile;
    if (!profile) return;
    const self = profile.userId === me(state)?.id;
    const user = profile.user;
    dialog.querySelector(".form-error").textContent = profile.error ?? "";
    $("profile-name").textContent = user?.name ?? profile.userId;
    $("profile-avatar").replaceChildren(
      avatar(user ?? { id: profile.userId, name: profile.userId }, "lg", user?.online),
    );
    $("profile-status").textContent = !user
      ? ""
      : user.online
      ? "Online"
      : user.lastSeenAt
      ? `Last seen ${fullTime(user.lastSeenAt)}`
      : "Offline";
    if (user) {
      $("profile-followers").textContent = String(user.followers ?? 0);
      $("profile-following").textContent = String(user.following ?? 0);
    }
    $("profile-follow").hidden = self;
    $("profile-message").hidden = self;
    if (profile.following !== null) {
      const button = $("profile-follow");
      button.textContent = profile.following ? "Following" : "Follow";
      button.setAttribute("aria-pressed", profile.following ? "true" : "false");
      button.className = `btn ${profile.following ? "btn-soft" : "btn-primary"}`;
    }
  }

  async function openProfile(userId) {
    store.dispatch({ type: "profile/opened", userId });
    if (!dialog.open) dialog.showModal();
    try {
      const user = await chat.user(userId);
      const following = typeof user.isFollowing === "boolean"
        ? user.isFollowing
        : knownFollowing().has(userId);
      store.dispatch({ type: "profile/loaded", userId, user, following });
    } catch (err) {
      store.dispatch({
        type: "profile/failed",
        userId,
        error: err.status === 404 ? "No such user yet" : err.message,
        following: knownFollowing().has(userId),
      });
    }
  }

  async function toggleFollow() {
    const profile = store.getState().profile;
    if (!profile) return;
    const following = $("profile-follow").getAttribute("aria-pressed") === "true";
    try {
      await (following ? chat.unfollow(profile.userId) : chat.follow(profile.userId));
      rememberFollowing(profile.userId, !following);
      store.dispatch({ type: "profile/followed", userId: profile.userId, following: !following });
      store.dispatch({ type: "announce", text: following ? "Unfollowed" : "Following" });
    } catch (err) {
      store.dispatch({ type: "profile/failed", userId: profile.userId, error: err.message });
    }
  }

  function knownFollowing() {
    try {
      return new Set(JSON.parse(localStorage.getItem(`${FOLLOWING_KEY}.${me(store.getState()).id}`) ?? "[]"));
    } catch {
      return new Set();
    }
  }

  function rememberFollowing(userId, following) {
    const set = knownFollowing();
    if (following) set.add(userId);
    else set.delete(userId);
    localStorage.setItem(`${FOLLOWING_KEY}.${me(store.getState()).id}`, JSON.stringify([...set]));
  }

  return { openProfile };
}
