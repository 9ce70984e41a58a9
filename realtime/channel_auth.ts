/**
 * @module Who may subscribe to which channel: channel authorization against the
 * room head read now, and the `pusher:signin` signature for a user.
 */
import type Pusher from "pusher";
import { isActive, memberOf } from "../actors/room_head.ts";
import { parseChannel } from "../common/channels.js";
import { HttpError } from "../http_error.ts";
import type { Profile } from "../storage/records.ts";
import { readHead } from "../storage/room_reads.ts";

/**
 * Signs a subscription for `user`: their own user channel, and the private and
 * presence channels of rooms they are an active member of. With `bindUser` (the
 * embedded gateway) private channels are signed with `channel_data` `{user_id, issued_at}`, and
 * presence channels carry `issued_at` too.
 *
 * @throws {HttpError} 404 `Room not found` for a room the user never belonged to (as for a
 * missing one), 403 for a former member and for any other channel.
 */
export async function authorizeChannel(
  kv: Deno.Kv,
  pusher: Pusher,
  user: Profile,
  request: { socketId: string; channel: string; bindUser: boolean },
): Promise<{ auth: string; channel_data?: string }> {
  const { socketId, channel } = request;
  // The embedded gateway learns whose subscription it is from the signed channel_data, and can
  // drop it when the user leaves the room; `issued_at` lets it refuse a signature kept back from
  // before. Pusher Channels takes no channel_data on private channels.
  const bound = (extra: Record<string, unknown> = {}) => ({
    user_id: user.id,
    ...extra,
    issued_at: Date.now(),
  });
  const privateAuth = () =>
    request.bindUser
      ? pusher.authorizeChannel(socketId, channel, bound())
      : pusher.authorizeChannel(socketId, channel);
  const named = parseChannel(channel);
  if (named === null) throw new HttpError(403, "Channel not allowed");
  if (named.kind === "user") {
    if (named.userId !== user.id) throw new HttpError(403, "Not your user channel");
    return privateAuth();
  }
  const head = (await readHead(kv, named.roomId)).value;
  const member = head ? memberOf(head, user.id) : undefined;
  // Never a member answers like no such room: direct room ids are derived from the pair.
  if (member === undefined) throw new HttpError(404, "Room not found");
  if (!isActive(member)) throw new HttpError(403, "Not a member of this room");
  if (named.kind === "presence") {
    const member = { user_id: user.id, user_info: { name: user.name, avatar: user.avatar } };
    return pusher.authorizeChannel(socketId, channel, request.bindUser ? bound(member) : member);
  }
  return privateAuth();
}

/**
 * Signs a `pusher:signin` for `user` on `socketId` (pusher-js `userAuthentication`): the
 * connection is then known as the user's, so `terminateUserConnections` reaches it.
 */
export function authenticateUser(
  pusher: Pusher,
  request: { user: Profile; socketId: string },
): { auth: string; user_data: string } {
  const { user, socketId } = request;
  return pusher.authenticateUser(socketId, {
    id: user.id,
    user_info: { name: user.name, avatar: user.avatar },
  });
}
