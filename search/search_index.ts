/**
 * @module The search index of a room, built after the room's commits, never in
 * them: a mark says up to which seq every message is indexed, and the room
 * commit of each edit or delete leaves a to-do row that re-indexes the message.
 * Every write here is idempotent, so any number of indexers may run at once.
 */
import { parseKey } from "../storage/key_parsers.ts";
import { keys } from "../storage/keys.ts";
import type { MessageVersion, RoomState, StoredMessage } from "../storage/records.ts";
import { indexTerms, messageWords } from "./search_tokens.ts";

/** Mutations per index commit, below KV's 1000. */
const MUTATIONS_PER_COMMIT = 800;
/** Message rows read per page while catching up. */
const ROWS_PER_PAGE = 100;
/** To-do rows handled per pass. */
const TODOS_PER_PASS = 100;

/** Where a room's index stands. */
export interface IndexState {
  /** Every message with seq ≤ `mark` is indexed. */
  mark: number;
  /** Whether edits or deletes wait to be re-indexed. */
  todo: boolean;
}

/** Reads where the index of a room stands. */
export async function readIndexState(kv: Deno.Kv, roomId: string): Promise<IndexState> {
  const [mark, todo] = await Promise.all([
    kv.get<Deno.KvU64>(keys.searchMark(roomId)),
    firstKey(kv, keys.searchTodos(roomId)),
  ]);
  return { mark: mark.value ? Number(mark.value.value) : 0, todo: todo !== null };
}

/**
 * Indexes what a room's index lacks: messages after the mark, then edited and
 * deleted messages. Runs are coalesced per store and room: a call during a run
 * makes that run go round once more, and resolves with it.
 */
export function indexRoom(kv: Deno.Kv, roomId: string): Promise<void> {
  let runs = RUNS.get(kv);
  if (!runs) RUNS.set(kv, runs = new Map());
  const running = runs.get(roomId);
  if (running) {
    running.again = true;
    return running.done;
  }
  const run = { again: false, done: Promise.resolve() };
  runs.set(roomId, run);
  run.done = (async () => {
    try {
      do {
        run.again = false;
        await indexOnce(kv, roomId);
      } while (run.again);
    } finally {
      runs.delete(roomId);
    }
  })();
  return run.done;
}

const RUNS = new WeakMap<Deno.Kv, Map<string, { again: boolean; done: Promise<void> }>>();

async function indexOnce(kv: Deno.Kv, roomId: string): Promise<void> {
  const [state, head] = await Promise.all([
    readIndexState(kv, roomId),
    kv.get<RoomState>(keys.room(roomId)),
  ]);
  const lastSeq = head.value?.lastSeq ?? 0;
  if (state.mark < lastSeq) await catchUp(kv, roomId, state.mark, lastSeq);
  if (state.todo) await reindexTodos(kv, roomId, Infinity);
}

/**
 * Indexes at most `maxMessages` of what the room's index lacks (new messages
 * first, then edits and deletes), for callers that must not wait for a long
 * catch-up (a search request), from `state` as just read. Runs beside
 * `indexRoom` safely. Returns how many messages it indexed and whether the
 * index is now complete.
 */
export async function indexSome(
  kv: Deno.Kv,
  room: { id: string; lastSeq: number },
  state: IndexState,
  maxMessages: number,
): Promise<{ indexed: number; complete: boolean }> {
  const upTo = Math.min(room.lastSeq, state.mark + maxMessages);
  if (state.mark < upTo) await catchUp(kv, room.id, state.mark, upTo);
  let indexed = Math.max(0, upTo - state.mark);
  let todosLeft = false;
  if (state.todo && indexed < maxMessages) {
    const done = await reindexTodos(kv, room.id, maxMessages - indexed);
    indexed += done.handled;
    todosLeft = done.more;
  } else todosLeft = state.todo;
  return { indexed, complete: upTo === room.lastSeq && !todosLeft };
}

/** Indexes messages `mark+1..lastSeq`, advancing the mark with each commit. */
async function catchUp(kv: Deno.Kv, roomId: string, mark: number, lastSeq: number): Promise<void> {
  const writer = new IndexWriter(kv, roomId);
  let from = mark + 1;
  while (from <= lastSeq) {
    const selector = { start: keys.message(roomId, from), end: keys.message(roomId, lastSeq + 1) };
    let seen = 0;
    for await (const entry of kv.list<StoredMessage>(selector, { limit: ROWS_PER_PAGE })) {
      seen++;
      const message = entry.value;
      if (message.deletedAt === undefined) {
        for (const term of indexTerms(messageWords(message))) {
          await writer.add({ type: "set", key: entryKey(message, term), value: null });
        }
        // Edited before it was first indexed: say which version's words the index now holds.
        if ((message.editCount ?? 0) > 0) await writer.add(indexedVersion(message));
      }
      writer.complete(message.seq);
      from = message.seq + 1;
    }
    if (seen === 0) break;
  }
  await writer.flush();
}

/**
 * Re-indexes edited and deleted messages, at most `budget` of them: removes the
 * terms of the version the index holds (one version row, however many the
 * message kept) and adds the current ones (none, for a deleted message), then
 * deletes the to-do row under a check, so an edit made meanwhile is not lost.
 * Says how many it handled and whether more are left.
 */
async function reindexTodos(
  kv: Deno.Kv,
  roomId: string,
  budget: number,
): Promise<{ handled: number; more: boolean }> {
  const todos: Deno.KvEntry<unknown>[] = [];
  const limit = Math.min(TODOS_PER_PASS, budget);
  for await (const entry of kv.list({ prefix: keys.searchTodos(roomId) }, { limit })) {
    todos.push(entry);
  }
  for (const todo of todos) {
    const { seq } = parseKey.searchTodo(todo.key);
    const [row, marker] = await kv.getMany<[StoredMessage, Deno.KvU64]>([
      keys.message(roomId, seq),
      keys.searchIndexed(roomId, seq),
    ]);
    // Every commit checks the to-do row: once another indexer took it or an edit rewrote it, stop.
    const writer = new IndexWriter(kv, roomId, todo);
    const message = row.value;
    let ok = true;
    if (message) {
      const held = marker.value ? Number(marker.value.value) : 0;
      const earlier = await contentOf(kv, message, held);
      const visible = message.deletedAt === undefined;
      const current = visible ? indexTerms(messageWords(message)) : [];
      const kept = new Set(current);
      for (const term of current) {
        ok &&= await writer.add({ type: "set", key: entryKey(message, term), value: null });
      }
      for (const term of earlier === null ? [] : indexTerms(messageWords({ ...message, content: earlier }))) {
        if (!kept.has(term)) ok &&= await writer.add({ type: "delete", key: entryKey(message, term) });
      }
      ok &&= await writer.add(
        visible && (message.editCount ?? 0) > 0 ? indexedVersion(message) : {
          type: "delete",
          key: marker.key,
        },
      );
    }
    if (ok) await writer.flush({ type: "delete", key: todo.key });
  }
  const full = todos.length === limit;
  if (!full) return { handled: todos.length, more: false };
  if (budget <= todos.length) return { handled: todos.length, more: true };
  const next = await reindexTodos(kv, roomId, budget - todos.length);
  return { handled: todos.length + next.handled, more: next.more };
}

/** The content of version `version` of the message: the current one, or a kept previous one (null if gone). */
async function contentOf(kv: Deno.Kv, message: StoredMessage, version: number): Promise<string | null> {
  if (version === (message.editCount ?? 0)) return message.content;
  const kept = await kv.get<MessageVersion>(keys.messageVersion(message.roomId, message.seq, version));
  return kept.value?.content ?? null;
}

/** Records that the index holds the words of the message's current version. */
function indexedVersion(message: StoredMessage): Deno.KvMutation {
  const value = new Deno.KvU64(BigInt(message.editCount ?? 0));
  return { type: "set", key: keys.searchIndexed(message.roomId, message.seq), value };
}

function entryKey(message: StoredMessage, term: string): Deno.KvKey {
  return keys.searchEntry(message.roomId, term, message.createdAt, message.seq);
}

/**
 * Commits index mutations in chunks, each under the `guard` check when there is
 * one; the mark moves only past messages whose terms are all committed.
 */
class IndexWriter {
  readonly #kv: Deno.Kv;
  readonly #roomId: string;
  readonly #guard?: Deno.AtomicCheck;
  #pending: Deno.KvMutation[] = [];
  #completeSeq = 0;

  constructor(kv: Deno.Kv, roomId: string, guard?: Deno.AtomicCheck) {
    this.#kv = kv;
    this.#roomId = roomId;
    this.#guard = guard;
  }

  /** Adds a mutation; false when a commit this caused failed its guard. */
  async add(mutation: Deno.KvMutation): Promise<boolean> {
    this.#pending.push(mutation);
    return this.#pending.length < MUTATIONS_PER_COMMIT || await this.flush();
  }

  /** Every term of message `seq` (and of those before it) has been added. */
  complete(seq: number): void {
    this.#completeSeq = seq;
  }

  /** Commits what is pending, with `last` when given; false when the guard failed. */
  async flush(last?: Deno.KvMutation): Promise<boolean> {
    const mutations = this.#pending.splice(0);
    if (this.#completeSeq > 0) {
      const value = new Deno.KvU64(BigInt(this.#completeSeq));
      mutations.push({ type: "max", key: keys.searchMark(this.#roomId), value });
    }
    if (last) mutations.push(last);
    if (mutations.length === 0) return true;
    const op = this.#kv.atomic().mutate(...mutations);
    if (this.#guard) op.check(this.#guard);
    return (await op.commit()).ok;
  }
}

async function firstKey(kv: Deno.Kv, prefix: Deno.KvKey): Promise<Deno.KvKey | null> {
  for await (const entry of kv.list({ prefix }, { limit: 1 })) return entry.key;
  return null;
}
