/**
 * @module Realtime channel names, for the server and the browser alike: every
 * channel name is built and parsed here and nowhere else. Ids match
 * `^[A-Za-z0-9_\-=@,.;]{1,128}$` (API.md), so a name never needs escaping.
 */

const ID = "[A-Za-z0-9_\\-=@,.;]{1,128}";
const NAME = new RegExp(`^(private-user|private-room|presence-room)-(${ID})$`);

/**
 * The private channel of one user (all their devices).
 *
 * @param {string} userId
 * @returns {string}
 * @example userChannel("alice") // "private-user-alice"
 */
export function userChannel(userId) {
  return `private-user-${userId}`;
}

/**
 * The private channel of a room's members.
 *
 * @param {string} roomId
 * @returns {string}
 */
export function roomChannel(roomId) {
  return `private-room-${roomId}`;
}

/**
 * The presence channel of a room (who is looking at it).
 *
 * @param {string} roomId
 * @returns {string}
 */
export function presenceRoomChannel(roomId) {
  return `presence-room-${roomId}`;
}

/**
 * What a channel name names: a user's channel, or a room's private or presence
 * channel; null for any other name.
 *
 * @param {string} name
 * @returns {{ kind: "user"; userId: string } | { kind: "room" | "presence"; roomId: string } | null}
 * @example parseChannel("private-room-g_1") // { kind: "room", roomId: "g_1" }
 */
export function parseChannel(name) {
  const match = NAME.exec(name);
  if (!match) return null;
  const [, prefix, id] = /** @type {[string, string, string]} */ (match);
  if (prefix === "private-user") return { kind: "user", userId: id };
  return { kind: prefix === "private-room" ? "room" : "presence", roomId: id };
}
