/**
 * @module The room actor: an in-process mailbox per room that applies commands
 * in arrival order, folding the ones that queue up while a commit is in flight
 * into the next batch, and commits each batch under the head's versionstamp.
 */
import { HttpError } from "../http_error.ts";
import { type CommitBatcher, valueBytes } from "../storage/commit_batcher.ts";
import { parseMessageId } from "../storage/ids.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import type { Profile, RoomState, StoredMessage } from "../storage/records.ts";
import { isActive, memberOf } from "./room_head.ts";
import {
  applyCommand,
  blockKey,
  clientMessageKey,
  emptyFacts,
  type Facts,
  type ResultOf,
  type RoomCommand,
  startBatch,
} from "./room_step.ts";
import { buildRoomUnit, hasWrites, type LoadedHead, type SendLogVersions } from "./room_writes.ts";

/** What the room actors need from the rest of the app. */
export interface RoomActorsOptions {
  batcher: CommitBatcher;
  /** Sends per user per rolling minute; 0 means unlimited. */
  sendLimit: number;
  /** Whether push is enabled, so that new messages get push outbox rows. */
  push: boolean;
  now?: () => number;
  /** Commands folded into one commit at most. */
  maxBatch?: number;
  /** Room heads kept in memory at most. */
  maxCachedRooms?: number;
  /** Publishes a typing indicator at once; it may drop it under overload. Never stored. */
  onTyping?: (event: TypingEvent) => void;
}

/** A typing indicator, as the room channel's `user-typing` event carries it. */
export interface TypingEvent {
  roomId: string;
  userId: string;
  userName: string;
  isTyping: boolean;
}

/** KV refuses values over 64 KiB; batches whose rows would come close are split. */
const MAX_VALUE_BYTES = 60 * 1024;

/** Attempts before a batch that keeps losing its check gives up with 503. */
const MAX_ATTEMPTS = 12;
/** Estimated bytes of commands folded into one batch; KV allows 800 KiB per commit. */
const BATCH_BYTES = 256 * 1024;

interface Pending {
  cmd: RoomCommand;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  roomId: string;
  queue: Pending[];
  running: boolean;
  /** The head as last committed or read by this process; dropped when a check fails. */
  head?: LoadedHead;
  /**
   * A direct room's block rows as read with `head`, kept only while neither user
   * blocked the other: the commit checks them, which catches a block made since,
   * but a stale block would refuse sends without any commit to correct it.
   */
  blocks?: Deno.KvEntryMaybe<unknown>[];
  /** Commands per batch after a batch had to be split (it grows back by one per commit). */
  cap?: number;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The room actors of this process, one mailbox per room. */
export class RoomActors {
  readonly #kv: Deno.Kv;
  readonly #options: Required<RoomActorsOptions>;
  readonly #slots = new Map<string, Slot>();
  #busy = 0;
  #idle: (() => void)[] = [];

  constructor(kv: Deno.Kv, options: RoomActorsOptions) {
    this.#kv = kv;
    this.#options = { now: Date.now, maxBatch: 64, maxCachedRooms: 10_000, onTyping: () => {}, ...options };
  }

  /**
   * Runs a command in the room's mailbox and resolves with its result once the
   * batch it was folded into is committed.
   *
   * @example
   * ```ts
   * const { message } = await actors.dispatch(roomId, { kind: "send", sender, input });
   * ```
   * @throws {HttpError} when the command is refused, or 503 when the room stays contended.
   */
  dispatch<C extends RoomCommand>(roomId: string, cmd: C): Promise<ResultOf<C>> {
    return new Promise((resolve, reject) => {
      const slot = this.#slot(roomId);
      slot.queue.push({ cmd, resolve: resolve as (value: unknown) => void, reject });
      if (!slot.running) {
        slot.running = true;
        this.#busy++;
        this.#run(slot);
      }
    });
  }

  /**
   * Checks membership against the head this process knows and publishes a
   * typing indicator at once: it never waits behind the room's durable work.
   *
   * @throws {HttpError} 404 unknown room, 403 not a member.
   */
  async typing(roomId: string, user: Profile, isTyping: boolean): Promise<void> {
    const slot = this.#slot(roomId);
    const head = slot.head ?? await this.#loadHead(roomId);
    if (head.state === null) throw new HttpError(404, "Room not found");
    if (!isActive(memberOf(head.state, user.id))) throw new HttpError(403, "Not a member of this room");
    if (!slot.head && !slot.running) slot.head = head;
    this.#options.onTyping?.({ roomId, userId: user.id, userName: user.name, isTyping });
  }

  /** Resolves once every mailbox is empty and no batch is in flight. */
  async drain(): Promise<void> {
    while (this.#busy > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #slot(roomId: string): Slot {
    let slot = this.#slots.get(roomId);
    if (slot) {
      this.#slots.delete(roomId); // re-insert: the map's order is least recently used first
    } else {
      slot = { roomId, queue: [], running: false };
      this.#evictIdle();
    }
    this.#slots.set(roomId, slot);
    return slot;
  }

  #evictIdle(): void {
    for (const [roomId, slot] of this.#slots) {
      if (this.#slots.size < this.#options.maxCachedRooms) return;
      if (!slot.running) this.#slots.delete(roomId);
    }
  }

  async #run(slot: Slot): Promise<void> {
    try {
      while (slot.queue.length > 0) {
        const batch = takeBatch(slot.queue, Math.min(slot.cap ?? Infinity, this.#options.maxBatch));
        await this.#process(slot, batch);
      }
    } finally {
      slot.running = false;
      if (--this.#busy === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
    }
  }

  async #process(slot: Slot, batch: Pending[]): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let outcomes: Outcome[];
      try {
        const head = slot.head ?? await this.#loadHead(slot.roomId);
        const { facts, sendLogVersions, blocks } = await this.#loadFacts(slot, head.state, batch);
        const now = this.#options.now();
        const work = startBatch(slot.roomId, head.state, facts);
        outcomes = batch.map((p) =>
          outcomeOf(() => applyCommand(work, p.cmd, { now, sendLimit: this.#options.sendLimit }))
        );
        if (!hasWrites(head, work)) {
          slot.head = head;
          slot.blocks = cacheable(blocks);
          return settle(batch, outcomes);
        }
        const readChecks = blocks.map(({ key, versionstamp }) => ({ key, versionstamp }));
        const unit = buildRoomUnit(head, work, {
          now,
          push: this.#options.push,
          sendLogVersions,
          readChecks,
        });
        if (
          batch.length > 1 &&
          unit.bytes > MAX_VALUE_BYTES && // no single value can be larger than all of them
          unit.mutations.some((m) => m.type === "set" && valueBytes(m.value) > MAX_VALUE_BYTES)
        ) {
          // The outbox row carries every event of the batch (with large groups' unread maps).
          throw new RangeError("A value of the batch's commit exceeds Deno KV's 64 KiB");
        }
        const result = await this.#options.batcher.commit(unit);
        if (result.ok) {
          slot.head = { state: work.state, versionstamp: result.versionstamp };
          slot.blocks = cacheable(blocks);
          if (slot.cap !== undefined) {
            slot.cap = slot.cap + 1 >= this.#options.maxBatch ? undefined : slot.cap + 1;
          }
          return settle(batch, outcomes);
        }
      } catch (err) {
        slot.head = slot.blocks = undefined;
        const tooBig = err instanceof RangeError ||
          (err instanceof TypeError && /value too large/i.test(err.message));
        if (tooBig && batch.length > 1) {
          // Too big for one commit after all: run the second half as the next batch.
          slot.queue.unshift(...batch.splice(Math.ceil(batch.length / 2)));
          slot.cap = batch.length;
          attempt--;
          continue;
        }
        for (const p of batch) p.reject(err);
        return;
      }
      // Another process committed this room (or a block changed) since we read it: reload and re-apply.
      slot.head = slot.blocks = undefined;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
    }
    const busy = new HttpError(503, "Room is busy, retry the request", { "Retry-After": "1" });
    for (const p of batch) p.reject(busy);
  }

  async #loadHead(roomId: string): Promise<LoadedHead> {
    const entry = await this.#kv.get<RoomState>(keys.room(roomId));
    return { state: entry.value, versionstamp: entry.versionstamp };
  }

  /**
   * Reads what the batch's commands consult besides the head. Reading after the
   * head is safe: every write to these rows also changes the head, so the
   * head's check fails if they moved. Block rows are written elsewhere, so the
   * commit checks them itself; while it succeeds they stay cached with the head.
   */
  async #loadFacts(
    slot: Slot,
    state: RoomState | null,
    batch: Pending[],
  ): Promise<{ facts: Facts; sendLogVersions: SendLogVersions; blocks: Deno.KvEntryMaybe<unknown>[] }> {
    const roomId = slot.roomId;
    const facts = emptyFacts();
    const sendLogVersions: SendLogVersions = new Map();
    const clientIds: [string, string][] = [];
    const seqs = new Set<number>();
    const senders = new Set<string>();
    for (const { cmd } of batch) {
      if (cmd.kind === "edit" || cmd.kind === "delete" || cmd.kind === "react") seqs.add(cmd.seq);
      if (cmd.kind !== "send") continue;
      if (cmd.input.clientMessageId !== undefined) clientIds.push([cmd.sender.id, cmd.input.clientMessageId]);
      const reply = cmd.input.replyToId === undefined ? null : parseMessageId(cmd.input.replyToId);
      if (reply?.roomId === roomId) seqs.add(reply.seq);
      if (this.#options.sendLimit > 0) senders.add(cmd.sender.id);
    }
    const logUsers = [...senders];
    const pair = directPair(state, batch);
    const blockKeys = slot.blocks || !pair
      ? []
      : [keys.block(pair[0], pair[1]), keys.block(pair[1], pair[0])];
    const entries = await getManyChunked<unknown>(this.#kv, [
      ...clientIds.map(([sender, id]) => keys.clientMessage(roomId, sender, id)),
      ...logUsers.map((id) => keys.sendLog(id)),
      ...blockKeys,
    ]);
    const blocks = slot.blocks ?? entries.slice(clientIds.length + logUsers.length);
    for (const { key, value } of blocks) {
      facts.blocks.set(blockKey(key[1] as string, key[2] as string), value !== null);
    }
    clientIds.forEach(([sender, id], i) => {
      const seq = entries[i]!.value as number | null;
      facts.clientMessages.set(clientMessageKey(sender, id), seq);
      if (seq !== null) seqs.add(seq);
    });
    logUsers.forEach((id, i) => {
      const entry = entries[clientIds.length + i]!;
      facts.sendLogs.set(id, (entry.value as number[] | null) ?? []);
      sendLogVersions.set(id, entry.versionstamp);
    });
    const wanted = [...seqs];
    const rows = await getManyChunked<StoredMessage>(
      this.#kv,
      wanted.map((seq) => keys.message(roomId, seq)),
    );
    wanted.forEach((seq, i) => facts.messages.set(seq, rows[i]!.value));
    if (state !== null) await this.#loadRecent(roomId, state, batch, facts);
    return { facts, sendLogVersions, blocks };
  }

  /**
   * When a delete in the batch may hit the room's latest visible message, reads
   * the newest rows until one more visible message than the batch has deletes
   * is found (or the history ends), so that the preview can fall back.
   */
  async #loadRecent(roomId: string, state: RoomState, batch: Pending[], facts: Facts): Promise<void> {
    const deletes = batch.filter((p) => p.cmd.kind === "delete").map((p) => (p.cmd as { seq: number }).seq);
    const latest = state.lastMessage?.seq;
    if (latest === undefined) {
      // No visible message at all: anything the batch deletes falls back to nothing.
      facts.recent = { floor: state.lastSeq + 1, noneBelow: true };
      return;
    }
    if (!deletes.some((seq) => seq >= latest)) return;
    let visible = 0;
    let floor = state.lastSeq + 1;
    const selector = { start: keys.message(roomId, 1), end: keys.message(roomId, state.lastSeq + 1) };
    for await (const entry of this.#kv.list<StoredMessage>(selector, { reverse: true, batchSize: 64 })) {
      facts.messages.set(entry.value.seq, entry.value);
      floor = entry.value.seq;
      if (entry.value.deletedAt === undefined && ++visible > deletes.length) break;
    }
    facts.recent = { floor, noneBelow: visible <= deletes.length };
  }
}

/** Block rows worth caching: only "nobody blocked anybody" (see `Slot.blocks`). */
function cacheable(blocks: Deno.KvEntryMaybe<unknown>[]): Deno.KvEntryMaybe<unknown>[] | undefined {
  return blocks.every((entry) => entry.value === null) ? blocks : undefined;
}

/** The two users of a direct room, existing or about to be opened by the batch; undefined for groups. */
function directPair(state: RoomState | null, batch: Pending[]): [string, string] | undefined {
  if (state !== null) {
    return state.type === "DIRECT" ? [...state.members.keys()] as [string, string] : undefined;
  }
  for (const { cmd } of batch) {
    if (cmd.kind === "send" && cmd.peer) return [cmd.sender.id, cmd.peer.id];
    if (cmd.kind === "openDirect") return [cmd.user.id, cmd.peer.id];
  }
  return undefined;
}

/** Takes the next batch off a mailbox: at most `max` commands and about `BATCH_BYTES`. */
function takeBatch(queue: Pending[], max: number): Pending[] {
  let bytes = 0;
  let count = 0;
  while (count < queue.length && count < max) {
    bytes += commandBytes(queue[count]!.cmd);
    if (count > 0 && bytes > BATCH_BYTES) break;
    count++;
  }
  return queue.splice(0, count);
}

/** A high estimate of what a command adds to a commit (message row, outbox copy, push text). */
function commandBytes(cmd: RoomCommand): number {
  if (cmd.kind === "send") return 4 * JSON.stringify(cmd.input).length + 2048;
  if (cmd.kind === "edit") return 8 * cmd.content.length + 2048; // row, kept version, event
  return 1024;
}

function outcomeOf(fn: () => unknown): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

function settle(batch: Pending[], outcomes: Outcome[]): void {
  batch.forEach((p, i) => {
    const outcome = outcomes[i]!;
    if (outcome.ok) p.resolve(outcome.value);
    else p.reject(outcome.error);
  });
}
