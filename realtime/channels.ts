/**
 * @module The subscription registry: which sockets are in which channel, and the presence
 * members of each presence channel, keyed by user_id with any number of sockets per user.
 */

import type { PresenceMember, PresenceSnapshot } from "./protocol.ts";

/** What one subscribe changed. */
export interface SubscribeResult {
  /** False when the socket was already subscribed (nothing changed). */
  added: boolean;
  /** The channel had no subscriber before (`channel_occupied`). */
  occupied: boolean;
  /** The user's first socket joined this presence channel (`member_added`). */
  memberAdded: PresenceMember | null;
}

/** What one unsubscribe changed. */
export interface UnsubscribeResult {
  channel: string;
  /** False when the socket was not subscribed (nothing changed). */
  removed: boolean;
  /** The last subscriber left (`channel_vacated`). */
  vacated: boolean;
  /** The user's last socket left this presence channel (`member_removed`). */
  memberRemoved: string | null;
}

interface PresenceUser {
  info: unknown;
  sockets: number;
}

interface ChannelEntry<S> {
  sockets: Set<S>;
  /** Created by the first presence member. */
  users: Map<string, PresenceUser> | null;
}

/**
 * Tracks subscriptions for sockets of any type `S`. Pure bookkeeping: it sends nothing and
 * reports what changed, so the caller decides which frames and webhooks follow.
 *
 * @example
 * ```ts
 * const registry = new ChannelRegistry<string>();
 * registry.subscribe("presence-room-1", "socket-a", { userId: "u1", userInfo: null });
 * registry.presence("presence-room-1"); // { ids: ["u1"], hash: { u1: null }, count: 1 }
 * ```
 */
export class ChannelRegistry<S> {
  #channels = new Map<string, ChannelEntry<S>>();
  /** Per socket: its channels, with its presence member where it has one. */
  #bySocket = new Map<S, Map<string, PresenceMember | null>>();
  #subscriptions = 0;

  /** Number of channels with at least one subscriber. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** Number of (socket, channel) subscriptions. */
  get subscriptionCount(): number {
    return this.#subscriptions;
  }

  /** Subscribes a socket; pass `member` for presence channels. */
  subscribe(
    channel: string,
    socket: S,
    member: PresenceMember | null = null,
  ): SubscribeResult {
    let joined = this.#bySocket.get(socket);
    if (joined?.has(channel)) {
      return { added: false, occupied: false, memberAdded: null };
    }
    let entry = this.#channels.get(channel);
    const occupied = entry === undefined;
    if (entry === undefined) {
      entry = { sockets: new Set(), users: null };
      this.#channels.set(channel, entry);
    }
    entry.sockets.add(socket);
    if (joined === undefined) {
      joined = new Map();
      this.#bySocket.set(socket, joined);
    }
    joined.set(channel, member);
    this.#subscriptions++;
    return {
      added: true,
      occupied,
      memberAdded: this.#addMember(entry, member),
    };
  }

  /** Unsubscribes a socket from one channel. */
  unsubscribe(channel: string, socket: S): UnsubscribeResult {
    const joined = this.#bySocket.get(socket);
    const entry = this.#channels.get(channel);
    if (joined === undefined || entry === undefined || !joined.has(channel)) {
      return { channel, removed: false, vacated: false, memberRemoved: null };
    }
    const member = joined.get(channel) ?? null;
    joined.delete(channel);
    if (joined.size === 0) this.#bySocket.delete(socket);
    entry.sockets.delete(socket);
    this.#subscriptions--;
    const memberRemoved = this.#removeMember(entry, member);
    const vacated = entry.sockets.size === 0;
    if (vacated) this.#channels.delete(channel);
    return { channel, removed: true, vacated, memberRemoved };
  }

  /** Unsubscribes a socket from every channel, e.g. when it disconnects. */
  unsubscribeAll(socket: S): UnsubscribeResult[] {
    const joined = this.#bySocket.get(socket);
    if (joined === undefined) return [];
    return [...joined.keys()].map((channel) => this.unsubscribe(channel, socket));
  }

  /** The live set of a channel's subscribers (do not mutate), or undefined when vacant. */
  subscribers(channel: string): ReadonlySet<S> | undefined {
    return this.#channels.get(channel)?.sockets;
  }

  /** Number of channels a socket is subscribed to. */
  channelCountOf(socket: S): number {
    return this.#bySocket.get(socket)?.size ?? 0;
  }

  /** Tells whether a socket is subscribed to a channel. */
  isSubscribed(channel: string, socket: S): boolean {
    return this.#bySocket.get(socket)?.has(channel) ?? false;
  }

  /** The presence member a socket subscribed as, or null. */
  memberOf(channel: string, socket: S): PresenceMember | null {
    return this.#bySocket.get(socket)?.get(channel) ?? null;
  }

  /** Number of distinct users on a presence channel (0 otherwise). */
  userCount(channel: string): number {
    return this.#channels.get(channel)?.users?.size ?? 0;
  }

  /** The `{ids, hash, count}` of a presence channel. */
  presence(channel: string): PresenceSnapshot {
    const users = this.#channels.get(channel)?.users;
    const ids: string[] = [];
    const hash: Record<string, unknown> = {};
    if (users) {
      for (const [id, user] of users) {
        ids.push(id);
        hash[id] = user.info;
      }
    }
    return { ids, hash, count: ids.length };
  }

  #addMember(
    entry: ChannelEntry<S>,
    member: PresenceMember | null,
  ): PresenceMember | null {
    if (member === null) return null;
    entry.users ??= new Map();
    const user = entry.users.get(member.userId);
    if (user !== undefined) {
      // Later sockets of the same user keep the first user_info: others already saw it.
      user.sockets++;
      return null;
    }
    entry.users.set(member.userId, { info: member.userInfo, sockets: 1 });
    return member;
  }

  #removeMember(
    entry: ChannelEntry<S>,
    member: PresenceMember | null,
  ): string | null {
    if (member === null || entry.users === null) return null;
    const user = entry.users.get(member.userId);
    if (user === undefined) return null;
    if (--user.sockets > 0) return null;
    entry.users.delete(member.userId);
    return member.userId;
  }
}
