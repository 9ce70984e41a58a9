/**
 * @module The parts of stored keys, read back by position: one parser per key
 * layout of `keys.ts` that code lists and then takes apart. Each checks the
 * layout's tag and the parts' types, so a key of another layout is an error.
 */
import type { Key } from "./keys.ts";

/**
 * Key parsers, named as the builders in `keys` are.
 *
 * @example
 * ```ts
 * parseKey.block(keys.block("alice", "bob")); // { blockerId: "alice", blockedId: "bob" }
 * ```
 */
export const parseKey = {
  /** `keys.block` → who blocked whom. */
  block: (key: Key) => ({ blockerId: str(key, "block", 1), blockedId: str(key, "block", 2) }),
  /** `keys.follow` → follower and followee. */
  follow: (key: Key) => ({ followerId: str(key, "follow", 1), followeeId: str(key, "follow", 2) }),
  /** `keys.follower` → followee and follower. */
  follower: (key: Key) => ({ followeeId: str(key, "follower", 1), followerId: str(key, "follower", 2) }),
  /** `keys.searchTodo` → the room and the seq to re-index. */
  searchTodo: (key: Key) => ({ roomId: str(key, "search_todo", 1), seq: num(key, "search_todo", 2) }),
  /** `keys.searchEntry` → a search entry's room, word prefix, time and seq. */
  searchEntry: (key: Key) => ({
    roomId: str(key, "search", 1),
    term: str(key, "search", 2),
    createdAt: num(key, "search", 3),
    seq: num(key, "search", 4),
  }),
  /** `keys.userRoom` → a user's room-list entry. */
  userRoom: (key: Key) => ({
    userId: str(key, "user_rooms", 1),
    archived: bool(key, "user_rooms", 2),
    lastActivityAt: num(key, "user_rooms", 3),
    roomId: str(key, "user_rooms", 4),
  }),
  /** `keys.outbox` → a pending batch's sink, stream and order. */
  outbox: (key: Key) => ({
    sink: str(key, "outbox", 1),
    stream: str(key, "outbox", 2),
    order: num(key, "outbox", 3),
  }),
  /** `keys.outboxAge` → the sink and the second counted. */
  outboxAge: (key: Key) => ({ sink: str(key, "outbox_age", 1), second: num(key, "outbox_age", 2) }),
  /** `keys.statsMessages`, `keys.statsPush` → the hour and the label (room type, outcome). */
  hourly: (key: Key) => ({ hour: num(key, String(key[0]), 1), label: str(key, String(key[0]), 2) }),
  /** `keys.statsActive`, `keys.statsLastActive` → the day. */
  daily: (key: Key) => ({ day: num(key, String(key[0]), 1) }),
  /** `keys.outboxDead` → a dead batch's sink, stream and order. */
  outboxDead: (key: Key) => ({
    sink: str(key, "outbox_dead", 1),
    stream: str(key, "outbox_dead", 2),
    order: num(key, "outbox_dead", 3),
  }),
};

function part(key: Key, tag: string, at: number): Deno.KvKeyPart {
  if (key[0] !== tag || key.length <= at) {
    throw new TypeError(`Not a ${tag} key: ${JSON.stringify(key.map(String))}`);
  }
  return key[at]!;
}

function str(key: Key, tag: string, at: number): string {
  const value = part(key, tag, at);
  if (typeof value !== "string") throw new TypeError(`Part ${at} of a ${tag} key is not a string`);
  return value;
}

function num(key: Key, tag: string, at: number): number {
  const value = part(key, tag, at);
  if (typeof value !== "number") throw new TypeError(`Part ${at} of a ${tag} key is not a number`);
  return value;
}

function bool(key: Key, tag: string, at: number): boolean {
  const value = part(key, tag, at);
  if (typeof value !== "boolean") throw new TypeError(`Part ${at} of a ${tag} key is not a boolean`);
  return value;
}
