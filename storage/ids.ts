/** @module Identifier formats: user and room ids, direct-room ids, message ids. */
import { createHash } from "node:crypto";

/** User and room ids become Pusher channel names, so they use only channel-safe characters. */
export const ID_PATTERN = /^[A-Za-z0-9_\-=@,.;]{1,128}$/;

/** Whether `id` is a well-formed user or room id. */
export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * The one room id of the direct conversation between two users, whoever writes first.
 *
 * @example
 * ```ts
 * directRoomId("alice", "bob") === directRoomId("bob", "alice"); // true
 * ```
 */
export function directRoomId(a: string, b: string): string {
  const [first, second] = [a, b].sort();
  const digest = createHash("sha256").update(`${first}\n${second}`).digest("base64url");
  return `dm_${digest}`;
}

/** A new group room id. */
export function newGroupRoomId(): string {
  return `g_${crypto.randomUUID()}`;
}

/**
 * The room id of the group a creator asks for with a `clientGroupId`: the same
 * for every retry of that request, so that the retry finds the group.
 */
export function groupRoomId(creatorId: string, clientGroupId: string): string {
  const digest = createHash("sha256").update(`${creatorId}\n${clientGroupId}`).digest("base64url");
  return `g_${digest}`;
}

/**
 * A message id names its room and seq; `:` never occurs in room ids, so the id
 * parses back without a lookup.
 */
export function messageId(roomId: string, seq: number): string {
  return `${roomId}:${seq}`;
}

/** The room and seq a message id names, or null when it is not a message id. */
export function parseMessageId(id: string): { roomId: string; seq: number } | null {
  const at = id.lastIndexOf(":");
  if (at < 0) return null;
  const roomId = id.slice(0, at);
  const seqText = id.slice(at + 1);
  if (!isValidId(roomId) || !/^[1-9]\d{0,14}$/.test(seqText)) return null;
  return { roomId, seq: Number(seqText) };
}
