/**
 * @module The shape of a room command (partykit's lifecycle interface is the
 * model): what it needs read, how it applies to a batch, what it emits and
 * which derived rows it writes. `apply` sees only the facts its entry
 * declared and may push only the events it declared, so a mismatch fails
 * `deno check`, not a request.
 */
import type {
  MessageVersion,
  RoomEvent,
  RoomState,
  StoredMessage,
  UploadRecord,
} from "../../storage/records.ts";
import type { RateKind } from "../rate_limit.ts";

/** Rows read before the batch runs, under the same head versionstamp check. */
export interface Facts {
  /** Message rows by seq; null when the row does not exist. */
  messages: Map<number, StoredMessage | null>;
  /** `clientMessageKey(senderId, clientMessageId)` → what that send created, or null. */
  clientMessages: Map<string, ClientMessageRecord | null>;
  /** Recent request times per limit and user, keyed by `rateLogKey(kind, userId)`. */
  rateLogs: Map<string, number[]>;
  /**
   * Whether a user blocked another, keyed by `blockKey(blockerId, blockedId)`:
   * for a direct room both members, for group creation and adds whether each
   * user to add blocked the caller. The commit checks what these rows depend
   * on, so a block and a send (or an add) never cross.
   */
  blocks: Map<string, boolean>;
  /**
   * Set when a delete may remove the room's latest visible message: every row
   * with seq ≥ `floor` is in `messages`, and when `noneBelow` no message below
   * `floor` is visible. The preview falls back within this window.
   */
  recent?: { floor: number; noneBelow: boolean };
  /**
   * Upload records by id; null when there is none. The commit checks each one
   * read, so an upload is attached at most once and never after the sweep took it.
   */
  uploads: Map<string, UploadRecord | null>;
}

/** The kinds of fact a command can declare. */
export type FactKind = keyof Facts;

/** What a command asks the loader to read, per kind of fact it declared. */
export interface NeedOf {
  /** Seqs of message rows (a `clientMessageId`'s record adds the seq it names). */
  messages: number[];
  /** `[senderId, clientMessageId]` pairs whose idempotency records to read. */
  clientMessages: [string, string][];
  /** The user's log of this limit (read only while the limit is on). */
  rateLogs: { kind: RateKind; userId: string };
  /**
   * `direct`: both block rows between a direct room's two users (cached with
   * the head). `addedBy`: whether each of `userIds` blocked the one adding them
   * (checked through that user's block epoch).
   */
  blocks: { direct: [string, string] } | { addedBy: string; userIds: string[] };
  /** Seqs the command may delete: the newest rows are read so the preview can fall back. */
  recent: number[];
  /** Ids of the uploads a send attaches. */
  uploads: string[];
}

/** The reads of one command: only the kinds it declared. */
export type Needs<K extends FactKind> = { [F in K]?: NeedOf[F] };

/** What a `clientMessageId` stands for: the seq its send took, and a digest of that send's body. */
export interface ClientMessageRecord {
  seq: number;
  /** `sendFingerprint` of the body; absent in records written before it was kept. */
  fingerprint?: string;
}

/** The type of a room event. */
export type EventType = RoomEvent["type"];
/** Each room event by its type. */
type EventsByType = { [T in EventType]: Extract<RoomEvent, { type: T }> };
/** The room events of the types `T`. */
export type EventOf<T extends EventType> = EventsByType[T];

/** The events of a batch as a command sees them: a `push` that takes only the types it declared. */
export interface EventSink<in E extends EventType> {
  push(...events: EventOf<E>[]): number;
}

/** A row a command causes besides the head and its message rows (search to-dos, idempotency records). */
export interface DerivedRow {
  key: Deno.KvKey;
  value: unknown;
}

/**
 * A batch in progress as one command sees it: the head after the commands
 * applied so far, the facts `F` it declared as they now stand, and what must
 * be written in the commit; it may push the events `E` it declared.
 */
export interface Working<out F extends Partial<Facts> = Facts, in E extends EventType = EventType> {
  roomId: string;
  state: RoomState | null;
  facts: F;
  /** Message rows created or changed in this batch, by seq. */
  changedMessages: Map<number, StoredMessage>;
  /** `rateLogKey`s of the rate logs that took a slot. */
  changedRateLogs: Set<string>;
  /** Previous contents of messages edited in this batch. */
  newVersions: MessageVersion[];
  /** Rows the commands' `derivedRows` asked for, in order (for one key, the last one is written). */
  derivedRows: DerivedRow[];
  events: EventSink<E>;
}

/** A whole batch, as the dispatcher holds it: every fact, and the events as a list. */
export interface Batch extends Working<Facts, EventType> {
  events: RoomEvent[];
}

/** The settings a step needs besides the state. */
export interface StepOptions {
  now: number;
  /** Sends per user per rolling minute; 0 means unlimited. */
  sendLimit: number;
  /** Other writes (edits, reactions, group changes, …) per user per rolling minute; 0 or absent: unlimited. */
  writeLimit?: number;
}

/** What a command's reads may depend on: the room and its head as loaded. */
export interface RoomContext {
  roomId: string;
  state: RoomState | null;
}

/**
 * One kind of room command: `C` the command, `R` what it resolves to, `K` the
 * facts it reads, `E` the events it emits.
 */
export interface CommandEntry<C extends { kind: string }, R, K extends FactKind, E extends EventType> {
  /** The facts `apply` reads; the loader reads them for the whole batch at once. */
  readonly facts: readonly K[];
  /** The events `apply` may push. */
  readonly emits: readonly E[];
  /** The user the command acts for. */
  actor(cmd: C): string;
  /** The rows to read for this command, for each kind of fact it declared. */
  needs(cmd: C, room: RoomContext): Needs<K>;
  /**
   * Applies the command to the batch. It either applies completely or throws
   * before changing anything, so a rejected command never disturbs the others.
   *
   * @throws {HttpError} when the command is not allowed (403, 404, 429, 400, 409).
   */
  apply(work: Working<Pick<Facts, K>, E>, cmd: C, options: StepOptions): R;
  /** Rows the applied command causes besides its message rows (asked after `apply` succeeded). */
  derivedRows?(work: Working<Pick<Facts, K>, E>, cmd: C, result: R): DerivedRow[];
  /** A high estimate of the bytes the command adds to a commit; 1 KiB when absent. */
  estimateBytes?(cmd: C): number;
}

/**
 * Declares a command entry, inferring the facts and events it declared so
 * that `apply` is checked against them.
 *
 * @example
 * ```ts
 * export const archive = defineCommand({
 *   facts: ["rateLogs"],
 *   emits: ["room.archived"],
 *   actor: (cmd: ArchiveCommand) => cmd.userId,
 *   needs: (cmd: ArchiveCommand) => ({ rateLogs: { kind: "write", userId: cmd.userId } }),
 *   apply(work, cmd: ArchiveCommand, options) { … },
 * });
 * ```
 */
export function defineCommand<C extends { kind: string }, R, K extends FactKind, E extends EventType>(
  entry: CommandEntry<C, R, K, E>,
): CommandEntry<C, R, K, E> {
  return entry;
}

/** Facts with nothing loaded yet. */
export function emptyFacts(): Facts {
  return {
    messages: new Map(),
    clientMessages: new Map(),
    rateLogs: new Map(),
    blocks: new Map(),
    uploads: new Map(),
  };
}

/** Starts a batch from a loaded head and facts. The head is copied; the input is left alone. */
export function startBatch(roomId: string, state: RoomState | null, facts: Facts): Batch {
  return {
    roomId,
    state: state === null ? null : structuredClone(state),
    facts,
    changedMessages: new Map(),
    changedRateLogs: new Set(),
    newVersions: [],
    derivedRows: [],
    events: [],
  };
}

/** Identifies a sender's idempotency record inside `Facts.clientMessages`. */
export function clientMessageKey(senderId: string, clientMessageId: string): string {
  return `${senderId}\u0000${clientMessageId}`;
}

/** Identifies a user's rate log of one kind inside `Facts.rateLogs`. */
export function rateLogKey(kind: RateKind, userId: string): string {
  return `${kind}\u0000${userId}`;
}

/** The kind and user of a `rateLogKey`. */
export function parseRateLogKey(key: string): { kind: RateKind; userId: string } {
  const at = key.indexOf("\u0000");
  return { kind: key.slice(0, at) as RateKind, userId: key.slice(at + 1) };
}

/** The key of "`blockerId` blocked `blockedId`" in `Facts.blocks`. */
export function blockKey(blockerId: string, blockedId: string): string {
  return `${blockerId}\u0000${blockedId}`;
}
