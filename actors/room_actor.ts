/**
 * @module The room actor: an in-process mailbox per room that applies commands
 * in arrival order, folding the ones that queue up while a commit is in flight
 * into the next batch, and commits each batch under the head's versionstamp.
 * The head this process cached is only a hint: every answer rests on a head
 * verified in the same step, by the commit's check or by a fresh read.
 */
import { HttpError } from "../http_error.ts";
import { type CommitBatcher, type CommitResult, OverloadedError } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import { backoff } from "../storage/commit_retry.ts";
import { getManyChunked, isTransientKvError } from "../storage/kv.ts";
import { valueBytes } from "../storage/kv_size.ts";
import type { Profile, RoomEvent, RoomState } from "../storage/records.ts";
import { MemoryRateLimiter } from "./rate_limit.ts";
import { isActive, memberOf } from "./room_head.ts";
import { startBatch } from "./commands/command.ts";
import { actorOf, applyCommand, commandBytes, type ResultOf, type RoomCommand } from "./commands/registry.ts";
import { ActiveToday, dayOf } from "../stats/counters.ts";
import { type Loaded, loadFacts } from "./room_loader.ts";
import { buildRoomUnit, hasWrites, type LoadedHead } from "./room_writes.ts";

/** What the room actors need from the rest of the app. */
export interface RoomActorsOptions {
  batcher: CommitBatcher;
  /** Sends per user per rolling minute; 0 means unlimited. */
  sendLimit: number;
  /** Other writes per user per rolling minute (`RATE_LIMIT_WRITE_PER_MIN`); 0 or absent: unlimited. */
  writeLimit?: number;
  /** Typing indicators per user per rolling minute, in this process. */
  typingLimit?: number;
  /** Whether push is enabled, so that new messages get push outbox rows. */
  push: boolean;
  now?: () => number;
  /** Commands folded into one commit at most. */
  maxBatch?: number;
  /** Room heads kept in memory at most. */
  maxCachedRooms?: number;
  /** Bytes of room heads kept in memory at most (a large group's head is about 60 KiB). */
  maxCachedBytes?: number;
  /** Commands waiting in one room's mailbox at most; beyond it a command is refused with 503. */
  maxQueuedPerRoom?: number;
  /**
   * Write a receipt with every commit, so that one whose answer was lost (a
   * remote store: Deno Deploy, KV Connect) is found instead of applied again.
   * A local file never loses an answer; it can leave them out. Default true.
   */
  commitReceipts?: boolean;
  /** Publishes a typing indicator at once; it may drop it under overload. Never stored. */
  onTyping?: (event: TypingEvent) => void;
  /** A batch of the room lost its check to another process's commit (hot-room forwarding listens). */
  onConflict?: (roomId: string) => void;
  /**
   * A commit with events returned: realtime may act on it now, beside the outbox, which delivers the same
   * batch afterwards in stream order (so a process dying here loses nothing). Called before the commands
   * are answered, at most once per batch, in commit order per room.
   */
  onCommitted?: (commit: CommittedBatch) => void;
}

/** The outbox batch a room commit wrote: the room stream's `order` (1, 2, 3, … per room) and its events. */
export interface CommittedBatch {
  roomId: string;
  order: number;
  events: RoomEvent[];
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
  /**
   * The head as this process last committed or read it. A hint that saves a
   * read: a commit checks it, and a batch that writes nothing reads it again
   * before answering.
   */
  head?: LoadedHead;
  /** `valueBytes` of `head`, counted against `maxCachedBytes`. */
  headBytes: number;
  /** A direct room's block rows as read with `head`; verified like the head. */
  blocks?: Deno.KvEntryMaybe<unknown>[];
  /** Commands per batch after a batch had to be split (it grows back by one per commit). */
  cap?: number;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** An attempt whose commit may have happened without saying so, and what it answered. */
interface Unsure {
  receipt: string;
  outcomes: Outcome[];
  /** The outbox batch the attempt wrote, reported once the receipt shows it committed. */
  commit: CommittedBatch | undefined;
}

/** The room actors of this process, one mailbox per room. */
export class RoomActors {
  readonly #kv: Deno.Kv;
  readonly #options: Required<RoomActorsOptions>;
  readonly #slots = new Map<string, Slot>();
  readonly #typing: MemoryRateLimiter;
  /** Users already counted active today: their `statsUserDay` rows need no read. */
  readonly #activeToday = new ActiveToday();
  #cachedBytes = 0;
  #busy = 0;
  #idle: (() => void)[] = [];

  constructor(kv: Deno.Kv, options: RoomActorsOptions) {
    this.#kv = kv;
    this.#options = {
      now: Date.now,
      writeLimit: 0,
      typingLimit: 60,
      maxBatch: 64,
      maxCachedRooms: 10_000,
      maxCachedBytes: 64 * 1024 * 1024,
      maxQueuedPerRoom: 1000,
      commitReceipts: true,
      onTyping: () => {},
      onConflict: () => {},
      onCommitted: () => {},
      ...options,
    };
    this.#typing = new MemoryRateLimiter({ limit: this.#options.typingLimit });
  }

  /**
   * Runs a command in the room's mailbox and resolves with its result once the
   * batch it was folded into is committed.
   *
   * @example
   * ```ts
   * const { message } = await actors.dispatch(roomId, { kind: "send", sender, input });
   * ```
   * @throws {HttpError} when the command is refused, or 503 when the room stays contended or is overloaded.
   */
  dispatch<C extends RoomCommand>(roomId: string, cmd: C): Promise<ResultOf<C>> {
    return new Promise((resolve, reject) => {
      const slot = this.#slot(roomId);
      if (slot.queue.length >= this.#options.maxQueuedPerRoom) {
        reject(busy("Room is busy, retry the request"));
        return;
      }
      slot.queue.push({ cmd, resolve: resolve as (value: unknown) => void, reject });
      if (!slot.running) {
        slot.running = true;
        this.#busy++;
        this.#run(slot);
      }
    });
  }

  /**
   * Publishes a typing indicator at once, after checking membership on a head
   * read now: it never waits behind the room's durable work, and never trusts
   * a cached head.
   *
   * @throws {HttpError} 404 unknown room or never a member, 403 former member, 429 too many.
   */
  async typing(roomId: string, user: Profile, isTyping: boolean): Promise<void> {
    const decision = this.#typing.take(user.id, this.#options.now());
    if (!decision.allowed) {
      throw new HttpError(429, "Too many typing indicators, slow down", {
        "Retry-After": String(decision.retryAfterSeconds),
      });
    }
    const { state } = await this.#loadHead(roomId);
    const member = state === null ? undefined : memberOf(state, user.id);
    if (member === undefined) throw new HttpError(404, "Room not found");
    if (!isActive(member)) throw new HttpError(403, "Not a member of this room");
    this.#options.onTyping({ roomId, userId: user.id, userName: user.name, isTyping });
  }

  /** Resolves once every mailbox is empty and no batch is in flight. */
  async drain(): Promise<void> {
    while (this.#busy > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** How many room heads, and how many bytes of them, this process keeps (tests, metrics). */
  get cached(): { rooms: number; bytes: number } {
    let rooms = 0;
    for (const slot of this.#slots.values()) if (slot.head) rooms++;
    return { rooms, bytes: this.#cachedBytes };
  }

  #slot(roomId: string): Slot {
    let slot = this.#slots.get(roomId);
    if (slot) {
      this.#slots.delete(roomId); // re-insert: the map's order is least recently used first
    } else {
      slot = { roomId, queue: [], running: false, headBytes: 0 };
    }
    this.#slots.set(roomId, slot);
    this.#evictIdle();
    return slot;
  }

  /** Drops idle rooms, least recently used first, until the cache is within its bounds. */
  #evictIdle(): void {
    for (const [roomId, slot] of this.#slots) {
      if (
        this.#slots.size <= this.#options.maxCachedRooms && this.#cachedBytes <= this.#options.maxCachedBytes
      ) {
        return;
      }
      if (slot.running || slot.queue.length > 0) continue;
      this.#forget(slot);
      this.#slots.delete(roomId);
    }
  }

  /** Keeps the head (and a direct room's block rows, when the batch used them) as a hint for the next batch. */
  #remember(slot: Slot, head: LoadedHead, blocks: Deno.KvEntryMaybe<unknown>[] | undefined): void {
    const bytes = head.state === null ? 0 : valueBytes(head.state);
    this.#cachedBytes += bytes - slot.headBytes;
    slot.head = head;
    slot.headBytes = bytes;
    if (blocks !== undefined) slot.blocks = blocks.length > 0 ? blocks : undefined;
    this.#evictIdle();
  }

  #forget(slot: Slot): void {
    this.#cachedBytes -= slot.headBytes;
    slot.head = slot.blocks = undefined;
    slot.headBytes = 0;
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
    const unsure: Unsure[] = [];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cachedHead = slot.head !== undefined;
      let head: LoadedHead;
      let loaded: Loaded;
      const day = dayOf(this.#options.now());
      try {
        head = slot.head ?? await this.#loadHead(slot.roomId);
        loaded = await loadFacts(this.#kv, {
          roomId: slot.roomId,
          state: head.state,
          commands: batch.map((p) => p.cmd),
          cachedBlocks: slot.blocks,
          receipts: unsure.map((u) => u.receipt),
          activeUsers: this.#activeToday.unknown(batch.map((p) => actorOf(p.cmd)), day),
          sendLimit: this.#options.sendLimit,
          writeLimit: this.#options.writeLimit,
        });
      } catch (err) {
        this.#forget(slot);
        if (isTransientKvError(err)) {
          await backoff(attempt, { capMs: 100 });
          continue;
        }
        return rejectAll(batch, err);
      }
      const committed = unsure.find((u) => loaded.receipts.has(u.receipt));
      if (committed) {
        // An attempt whose outcome went unreported did commit: its answers are the true ones.
        this.#forget(slot);
        if (committed.commit) this.#options.onCommitted(committed.commit);
        return settle(batch, committed.outcomes);
      }

      const now = this.#options.now();
      const work = startBatch(slot.roomId, head.state, loaded.facts);
      const stepOptions = { now, sendLimit: this.#options.sendLimit, writeLimit: this.#options.writeLimit };
      const outcomes = batch.map((p) => outcomeOf(() => applyCommand(work, p.cmd, stepOptions)));

      if (!hasWrites(head, work)) {
        // Nothing to commit, so no check verifies what the answers rest on: read it again if it was cached.
        const cachedBlocks = loaded.directBlocks?.cached ? loaded.directBlocks.entries : [];
        if (
          (cachedHead || cachedBlocks.length > 0) &&
          !(await this.#stillCurrent(slot.roomId, cachedHead ? head : undefined, cachedBlocks))
        ) {
          this.#forget(slot);
          continue;
        }
        this.#remember(slot, head, loaded.directBlocks?.entries);
        return settle(batch, outcomes);
      }

      const receipt = this.#options.commitReceipts ? crypto.randomUUID() : undefined;
      const active = batch.filter((_, i) => outcomes[i]!.ok).map((p) => actorOf(p.cmd));
      let commit: CommittedBatch | undefined;
      let result: CommitResult;
      try {
        const unit = buildRoomUnit(head, work, {
          now,
          push: this.#options.push,
          rateLogVersions: loaded.rateLogVersions,
          readChecks: loaded.readChecks,
          receipt,
          activity: { day, userIds: active, rows: loaded.activity },
        });
        // Built: the state's outboxSeq is the order of the outbox batch this commit writes.
        if (work.events.length > 0) {
          commit = { roomId: slot.roomId, order: work.state!.outboxSeq, events: work.events };
        }
        if (
          batch.length > 1 &&
          unit.bytes > MAX_VALUE_BYTES && // no single value can be larger than all of them
          unit.mutations.some((m) => m.type === "set" && valueBytes(m.value) > MAX_VALUE_BYTES)
        ) {
          // The outbox row carries every event of the batch (with large groups' unread maps).
          throw new RangeError("A value of the batch's commit exceeds Deno KV's 64 KiB");
        }
        result = await this.#options.batcher.commit(unit);
      } catch (err) {
        this.#forget(slot);
        if (isTooBig(err) && unsure.length === 0) {
          if (batch.length === 1) {
            return rejectAll(batch, new HttpError(413, "This change is too large to store in one commit"));
          }
          // Too big for one commit: run the second half as the next batch.
          slot.queue.unshift(...batch.splice(Math.ceil(batch.length / 2)));
          slot.cap = batch.length;
          attempt--;
          continue;
        }
        if (err instanceof OverloadedError) {
          return rejectAll(batch, busy("The server is busy, retry the request"));
        }
        if (!isTransientKvError(err)) return rejectAll(batch, err);
        // The commit may or may not have happened: its receipt tells, on the next read.
        if (receipt !== undefined) unsure.push({ receipt, outcomes, commit });
        await backoff(attempt, { capMs: 100 });
        continue;
      }
      if (result.ok) {
        this.#activeToday.remember(active, day);
        this.#remember(
          slot,
          { state: work.state, versionstamp: result.versionstamp },
          loaded.directBlocks?.entries,
        );
        if (slot.cap !== undefined) {
          slot.cap = slot.cap + 1 >= this.#options.maxBatch ? undefined : slot.cap + 1;
        }
        if (commit) this.#options.onCommitted(commit);
        return settle(batch, outcomes);
      }
      // A check failed: another process committed this room (or a row it checks) since we read it,
      // or a retried commit of ours found its own first try. Reload, learn which, re-apply if needed.
      if (receipt !== undefined) unsure.push({ receipt, outcomes, commit });
      this.#forget(slot);
      this.#options.onConflict(slot.roomId);
      await backoff(attempt, { capMs: 100 });
    }
    rejectAll(batch, busy("Room is busy, retry the request"));
  }

  async #loadHead(roomId: string): Promise<LoadedHead> {
    const entry = await this.#kv.get<RoomState>(keys.room(roomId));
    return { state: entry.value, versionstamp: entry.versionstamp };
  }

  /** Whether the cached head and block rows are still what KV holds. */
  async #stillCurrent(
    roomId: string,
    head: LoadedHead | undefined,
    blocks: Deno.KvEntryMaybe<unknown>[],
  ): Promise<boolean> {
    const wanted = [
      ...(head ? [{ key: keys.room(roomId), versionstamp: head.versionstamp }] : []),
      ...blocks,
    ];
    const entries = await getManyChunked<unknown>(this.#kv, wanted.map((w) => w.key));
    return entries.every((entry, i) => entry.versionstamp === wanted[i]!.versionstamp);
  }
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

/** Whether a commit was refused for its size: ours (`RangeError`) or KV's ("too large", "too many"). */
function isTooBig(err: unknown): boolean {
  return err instanceof RangeError || (err instanceof TypeError && /too large|too many/i.test(err.message));
}

function busy(message: string): HttpError {
  return new HttpError(503, message, { "Retry-After": "1" });
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

function rejectAll(batch: Pending[], err: unknown): void {
  for (const p of batch) p.reject(err);
}
