/**
 * @module Message search over the caller's active rooms: the rooms' indexes are
 * brought up to date first, then the per-room entries of one query word are
 * merged newest first and each candidate is checked against the stored message.
 */
import { isActive, memberOf } from "../actors/room_head.ts";
import { HttpError } from "../http_error.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import type { Profile, RoomState, StoredMessage } from "../storage/records.ts";
import { listActiveRoomIds, readHead, readHeads } from "../storage/room_reads.ts";
import { indexRoom, readIndexState } from "./search_index.ts";
import { indexTermOf, matchesAll, messageWords, tokenize } from "./search_tokens.ts";
import { type MessageView, messageView, receiptOf } from "./views.ts";

/** Rooms one search covers at most: the caller's most recently active ones. */
export const MAX_SEARCH_ROOMS = 1000;
/** Candidates one page checks at most; a page may then be short, with a `nextCursor`. */
export const MAX_SCANNED = 2000;
/** Query words that count; more are ignored. */
export const MAX_QUERY_WORDS = 8;
/** Rooms whose index is brought up to date at once. */
const INDEX_CONCURRENCY = 8;

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
  deps: { kv: Deno.Kv },
  user: Profile,
  request: SearchRequest,
): Promise<{ messages: MessageView[]; nextCursor?: string }> {
  const words = tokenize(request.q).slice(0, MAX_QUERY_WORDS);
  if (words.length === 0) throw new HttpError(400, "q: must contain a letter or digit");
  const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
  const heads = await roomsInScope(deps.kv, user.id, request.roomId);
  await bringIndexesUpToDate(deps.kv, heads);

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
    messages: page.map((m) => messageView(m, receiptOf(byRoom.get(m.roomId)!, m))),
    ...(more && end ? { nextCursor: encodeCursor(end) } : {}),
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

/** Indexes, in the request, whatever the background indexer has not reached yet. */
async function bringIndexesUpToDate(kv: Deno.Kv, heads: RoomState[]): Promise<void> {
  const queue = [...heads];
  const worker = async () => {
    for (let head = queue.shift(); head; head = queue.shift()) {
      const state = await readIndexState(kv, head.id);
      if (state.mark < head.lastSeq || state.todo) await indexRoom(kv, head.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(INDEX_CONCURRENCY, heads.length) }, worker));
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
      const [, , , createdAt, seq] = entry.key as [string, string, string, number, number];
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

function encodeCursor(position: Position): string {
  return btoa(JSON.stringify([position.createdAt, position.roomId, position.seq]))
    .replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function decodeCursor(cursor: string): Position {
  try {
    const [createdAt, roomId, seq] = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (Number.isSafeInteger(createdAt) && typeof roomId === "string" && Number.isSafeInteger(seq)) {
      return { createdAt, roomId, seq };
    }
  } catch {
    // fall through to the 400 below
  }
  throw new HttpError(400, "cursor: not a cursor this server returned");
}
