/**
 * @module Message search over the caller's active rooms: the rooms' indexes are
 * brought up to date first (a bounded amount inline, the rest by the background
 * indexer), then the per-room entries of one query word are merged newest first
 * and each candidate is checked against the stored message. Rate-limited per user.
 */
import { isActive, memberOf } from "../actors/room_head.ts";
import { HttpError } from "../http_error.ts";
import { parseKey } from "../storage/key_parsers.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import type { Profile, RoomState, StoredMessage } from "../storage/records.ts";
import { listActiveRoomIds, readHead, readHeads } from "../storage/room_reads.ts";
import type { BackgroundIndexer } from "./background_indexer.ts";
import { indexSome, readIndexState } from "./search_index.ts";
import { takeSearchSlot } from "./search_limit.ts";
import { indexTermOf, matchesAll, messageWords, tokenize } from "./search_tokens.ts";
import { type AttachmentLinks, type MessageView, messageView, receiptOf } from "../api/views.ts";
import { decodeCursor, encodeCursor } from "../api/cursor.ts";

/** Rooms one search covers at most: the caller's most recently active ones. */
export const MAX_SEARCH_ROOMS = 1000;
/** Candidates one page checks at most; a page may then be short, with a `nextCursor`. */
export const MAX_SCANNED = 2000;
/** Query words that count; more are ignored. */
export const MAX_QUERY_WORDS = 8;
/** Rooms whose index is brought up to date at once. */
const INDEX_CONCURRENCY = 8;
/**
 * Messages one request indexes inline at most, over all its rooms; a room
 * further behind is left to the background indexer (its newest messages are
 * then found moments later).
 */
export const INLINE_INDEX_BUDGET = 500;
/** Edited or deleted messages a room with some waiting may re-index inline (from the same budget). */
const TODO_ALLOWANCE = 20;

/** What to search for. */
export interface SearchRequest {
  q: string;
  roomId?: string;
  limit: number;
  cursor?: string;
}

/** Where a page ended, in the order results come: newest `createdAt`, then room id, then seq, descending. */
interface Position {
  createdAt: number;
  roomId: string;
  seq: number;
}

/**
 * Finds the visible messages of the caller's active rooms (or of `roomId`)
 * whose words start with every query word, newest first.
 *
 * @throws {HttpError} 400 no word in `q` or a bad cursor, 404 unknown room, 403 not an active member.
 */
export async function searchMessages(
  deps: { kv: Deno.Kv; links: AttachmentLinks; indexer?: Pick<BackgroundIndexer, "schedule"> },
  user: Profile,
  request: SearchRequest,
): Promise<{ messages: MessageView[]; nextCursor?: string }> {
  const words = tokenize(request.q).slice(0, MAX_QUERY_WORDS);
  if (words.length === 0) throw new HttpError(400, "q: must contain a letter or digit");
  const after = request.cursor === undefined ? undefined : decodePosition(request.cursor);
  await takeSearchSlot(deps.kv, user.id);
  const heads = await roomsInScope(deps.kv, user.id, request.roomId);
  await bringIndexesUpToDate(deps, heads);

  // The longest word is the most selective: its entries drive, the others are checked on the text.
  const driver = indexTermOf(words.reduce((a, b) => (Array.from(b).length > Array.from(a).length ? b : a)));
  const streams = heads.map((head) => new EntryStream(deps.kv, head.id, driver, after));
  const found: StoredMessage[] = [];
  let scanned = 0;
  let last: Position | undefined;
  while (found.length <= request.limit && scanned < MAX_SCANNED) {
    const batch = await nextCandidates(streams, Math.min(request.limit + 1 - found.length + 8, 100));
    if (batch.length === 0) {
      last = undefined; // nothing left anywhere
      break;
    }
    const rows = await getManyChunked<StoredMessage>(
      deps.kv,
      batch.map((p) => keys.message(p.roomId, p.seq)),
    );
    for (const [i, position] of batch.entries()) {
      scanned++;
      last = position;
      const message = rows[i]!.value;
      if (message && message.deletedAt === undefined && matchesAll(words, messageWords(message))) {
        found.push(message);
        if (found.length > request.limit) break;
      }
    }
  }
  const byRoom = new Map(heads.map((h) => [h.id, h]));
  const page = found.slice(0, request.limit);
  const more = found.length > request.limit || (last !== undefined && scanned >= MAX_SCANNED);
  const end = found.length > request.limit ? positionOf(page[page.length - 1]!) : last;
  return {
    messages: page.map((m) => messageView(m, receiptOf(byRoom.get(m.roomId)!, m), deps.links)),
    ...(more && end ? { nextCursor: encodePosition(end) } : {}),
  };
}

/** The heads of the rooms a search covers; the caller is an active member of each. */
async function roomsInScope(kv: Deno.Kv, userId: string, roomId?: string): Promise<RoomState[]> {
  if (roomId !== undefined) {
    const head = (await readHead(kv, roomId)).value;
    if (head === null) throw new HttpError(404, "Room not found");
    if (!isActive(memberOf(head, userId))) throw new HttpError(403, "Not a member of this room");
    return [head];
  }
  // Archived rooms too: archiving hides a room from the list, not from search.
  const heads = await readHeads(kv, await listActiveRoomIds(kv, userId, MAX_SEARCH_ROOMS));
  return heads.filter((head) => isActive(memberOf(head, userId)));
}

/**
 * Indexes, in the request, what the background indexer has not reached yet:
 * the rooms' index states are read, then `INLINE_INDEX_BUDGET` messages are
 * shared out, most recently active rooms first; rooms still behind are handed
 * to the background indexer.
 */
async function bringIndexesUpToDate(
  deps: { kv: Deno.Kv; indexer?: Pick<BackgroundIndexer, "schedule"> },
  heads: RoomState[],
): Promise<void> {
  const states = await inParallel(heads, (head) => readIndexState(deps.kv, head.id));
  let budget = INLINE_INDEX_BUDGET;
  const plan = heads.flatMap((head, i) => {
    const state = states[i]!;
    const need = Math.max(0, head.lastSeq - state.mark) + (state.todo ? TODO_ALLOWANCE : 0);
    if (need === 0) return [];
    const share = Math.min(budget, need);
    budget -= share;
    return [{ head, state, share }];
  });
  await inParallel(plan, async ({ head, state, share }) => {
    const { complete } = await indexSome(deps.kv, head, state, share);
    if (!complete) deps.indexer?.schedule(head.id);
  });
}

/** Runs `fn` over the items, `INDEX_CONCURRENCY` at a time; results in item order. */
async function inParallel<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(INDEX_CONCURRENCY, items.length) }, worker));
  return out;
}

/** One room's index entries for one term, newest first, read a page at a time. */
class EntryStream {
  readonly roomId: string;
  readonly #kv: Deno.Kv;
  readonly #prefix: Deno.KvKey;
  #end: Deno.KvKey | undefined;
  #buffer: Position[] = [];
  #done = false;

  constructor(kv: Deno.Kv, roomId: string, term: string, after?: Position) {
    this.#kv = kv;
    this.roomId = roomId;
    this.#prefix = keys.searchEntries(roomId, term);
    this.#end = after === undefined ? undefined : resumeKey(roomId, term, after);
  }

  /** The next entry without taking it; undefined once the room has no more. */
  async peek(pageSize: number): Promise<Position | undefined> {
    if (this.#buffer.length === 0 && !this.#done) await this.#fill(pageSize);
    return this.#buffer[0];
  }

  take(): void {
    this.#buffer.shift();
  }

  async #fill(pageSize: number): Promise<void> {
    const selector = this.#end ? { prefix: this.#prefix, end: this.#end } : { prefix: this.#prefix };
    let count = 0;
    for await (const entry of this.#kv.list(selector, { reverse: true, limit: pageSize })) {
      count++;
      const { createdAt, seq } = parseKey.searchEntry(entry.key);
      this.#buffer.push({ createdAt, roomId: this.roomId, seq });
      this.#end = entry.key;
    }
    if (count < pageSize) this.#done = true;
  }
}

/**
 * Where a room's entries continue after `after` in result order: before
 * (createdAt, seq) in the same room; up to and including `createdAt` in rooms
 * that sort below it; strictly before `createdAt` in rooms that sort above.
 */
function resumeKey(roomId: string, term: string, after: Position): Deno.KvKey {
  if (roomId === after.roomId) return keys.searchEntry(roomId, term, after.createdAt, after.seq);
  return [...keys.searchEntries(roomId, term), roomId < after.roomId ? after.createdAt + 1 : after.createdAt];
}

/** Takes up to `count` entries across the rooms, newest first. */
async function nextCandidates(streams: EntryStream[], count: number): Promise<Position[]> {
  const out: Position[] = [];
  const pageSize = Math.max(count, 20);
  const heads = await Promise.all(streams.map((s) => s.peek(pageSize)));
  while (out.length < count) {
    let best = -1;
    for (let i = 0; i < streams.length; i++) {
      const candidate = heads[i];
      if (candidate && (best < 0 || compare(candidate, heads[best]!) > 0)) best = i;
    }
    if (best < 0) break;
    out.push(heads[best]!);
    streams[best]!.take();
    heads[best] = await streams[best]!.peek(pageSize);
  }
  return out;
}

/** Result order: newer first, then by room id, then by seq (all descending). */
function compare(a: Position, b: Position): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  if (a.roomId !== b.roomId) return a.roomId < b.roomId ? -1 : 1;
  return a.seq - b.seq;
}

function positionOf(message: StoredMessage): Position {
  return { createdAt: message.createdAt, roomId: message.roomId, seq: message.seq };
}

function encodePosition(position: Position): string {
  return encodeCursor([position.createdAt, position.roomId, position.seq]);
}

function decodePosition(cursor: string): Position {
  return decodeCursor(
    cursor,
    ([createdAt, roomId, seq]) =>
      Number.isSafeInteger(createdAt) && typeof roomId === "string" && Number.isSafeInteger(seq)
        ? { createdAt: createdAt as number, roomId, seq: seq as number }
        : null,
  );
}
