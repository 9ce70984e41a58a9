/**
 * @module A sequential model of rooms, for model-checked tests: what each
 * acknowledged command must answer and leave behind, computed without KV.
 * Covers sends, reads, edits, deletes, reactions, adds, removes and leaves in
 * one group (owned by a member who never leaves) and direct rooms.
 */

/** One member's standing, as the model keeps it. */
export interface ModelMember {
  role: "owner" | "member";
  readSeq: number;
  active: boolean;
}

/** One message, as the model keeps it. */
export interface ModelMessage {
  seq: number;
  senderId: string;
  content: string;
  edited: boolean;
  deleted: boolean;
  /** Emoji → user ids in reaction order. */
  reactions: Map<string, string[]>;
}

/** One room of the model. */
export interface ModelRoom {
  id: string;
  type: "DIRECT" | "GROUP";
  members: Map<string, ModelMember>;
  messages: ModelMessage[];
}

/** Rooms by id, and the expected answers of commands against them. */
export class RoomModel {
  readonly rooms = new Map<string, ModelRoom>();

  /** A group created by `ownerId` with `memberIds`. */
  createGroup(id: string, ownerId: string, memberIds: string[]): void {
    const members = new Map<string, ModelMember>([[ownerId, { role: "owner", readSeq: 0, active: true }]]);
    for (const m of memberIds) members.set(m, { role: "member", readSeq: 0, active: true });
    this.rooms.set(id, { id, type: "GROUP", members, messages: [] });
  }

  /** 404 for no room or never a member, 403 for a former member, else null. */
  #access(room: ModelRoom | undefined, userId: string): 403 | 404 | null {
    const member = room?.members.get(userId);
    if (!room || !member) return 404;
    return member.active ? null : 403;
  }

  /** A send to an existing room (`create` opens a direct room with a peer first). */
  send(roomId: string, userId: string, content: string, create?: { peerId: string }): number {
    let room = this.rooms.get(roomId);
    if (!room && create) {
      room = {
        id: roomId,
        type: "DIRECT",
        members: new Map(
          [userId, create.peerId].map((id) => [id, { role: "member", readSeq: 0, active: true }]),
        ),
        messages: [],
      };
      this.rooms.set(roomId, room);
    }
    const denied = this.#access(room, userId);
    if (denied) return denied;
    const seq = room!.messages.length + 1;
    room!.messages.push({
      seq,
      senderId: userId,
      content,
      edited: false,
      deleted: false,
      reactions: new Map(),
    });
    room!.members.get(userId)!.readSeq = seq;
    return 200;
  }

  read(roomId: string, userId: string): number {
    const room = this.rooms.get(roomId);
    const denied = this.#access(room, userId);
    if (denied) return denied;
    const member = room!.members.get(userId)!;
    member.readSeq = Math.max(member.readSeq, room!.messages.length);
    return 200;
  }

  edit(roomId: string, userId: string, seq: number, content: string): number {
    const room = this.rooms.get(roomId);
    const denied = this.#access(room, userId);
    if (denied) return denied;
    const message = room!.messages[seq - 1]!;
    if (message.deleted) return 404;
    if (message.senderId !== userId) return 403;
    message.content = content;
    message.edited = true;
    return 200;
  }

  delete(roomId: string, userId: string, seq: number): number {
    const room = this.rooms.get(roomId);
    const denied = this.#access(room, userId);
    if (denied) return denied;
    const message = room!.messages[seq - 1]!;
    const moderator = room!.type === "GROUP" && room!.members.get(userId)!.role === "owner";
    if (message.senderId !== userId && !moderator) return 403;
    message.deleted = true;
    return 200;
  }

  react(roomId: string, userId: string, seq: number, emoji: string): number {
    const room = this.rooms.get(roomId);
    const denied = this.#access(room, userId);
    if (denied) return denied;
    const message = room!.messages[seq - 1]!;
    if (message.deleted) return 404;
    const users = message.reactions.get(emoji) ?? [];
    const rest = users.includes(userId) ? users.filter((u) => u !== userId) : [...users, userId];
    if (rest.length > 0) message.reactions.set(emoji, rest);
    else message.reactions.delete(emoji);
    return 200;
  }

  add(roomId: string, userId: string, targetId: string): number {
    const room = this.rooms.get(roomId)!;
    const denied = this.#access(room, userId);
    if (denied) return denied;
    if (room.members.get(userId)!.role !== "owner") return 403;
    if (room.members.get(targetId)?.active) return 200;
    room.members.set(targetId, { role: "member", readSeq: room.messages.length, active: true });
    return 200;
  }

  /** Removal by the owner, or a member leaving (`targetId === userId`); the owner never leaves. */
  remove(roomId: string, userId: string, targetId: string): number {
    const room = this.rooms.get(roomId)!;
    const denied = this.#access(room, userId);
    if (denied) return denied;
    if (targetId !== userId) {
      if (room.members.get(userId)!.role !== "owner") return 403;
      if (!room.members.get(targetId)?.active) return 404;
    }
    room.members.get(targetId)!.active = false;
    return 200;
  }

  /** The user's unread count in the room: visible messages after their read position. */
  unread(room: ModelRoom, userId: string): number {
    const member = room.members.get(userId);
    if (!member?.active) return 0;
    return room.messages.filter((m) => m.seq > member.readSeq && !m.deleted).length;
  }

  /** Ids of the rooms where the user is an active member. */
  activeRooms(userId: string): ModelRoom[] {
    return [...this.rooms.values()].filter((room) => room.members.get(userId)?.active);
  }
}
