import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import type { MessageVersion, RoomState, StoredMessage } from "../storage/records.ts";
import { indexRoom, readIndexState } from "./search_index.ts";

function row(seq: number, content: string, extra: Partial<StoredMessage> = {}): StoredMessage {
  const sender = { id: "alice", name: "Alice", avatar: null };
  return {
    id: `r:${seq}`,
    roomId: "r",
    seq,
    senderId: "alice",
    sender,
    content,
    type: "text",
    reactions: new Map(),
    createdAt: 1000 + seq,
    ...extra,
  };
}

async function store(kv: Deno.Kv, rows: StoredMessage[]): Promise<void> {
  const head = { id: "r", lastSeq: rows.length } as RoomState;
  await kv.set(keys.room("r"), head);
  for (const r of rows) await kv.set(keys.message("r", r.seq), r);
}

/** The seqs the index lists under one term. */
async function indexed(kv: Deno.Kv, term: string): Promise<number[]> {
  const seqs: number[] = [];
  for await (const e of kv.list({ prefix: keys.searchEntries("r", term) })) seqs.push(e.key[4] as number);
  return seqs;
}

Deno.test("indexRoom() indexes every word prefix of new messages and moves the mark", async () => {
  using kv = await Deno.openKv(":memory:");
  await store(kv, [row(1, "Hello world"), row(2, "help"), row(3, "gone", { deletedAt: 5 })]);
  await indexRoom(kv, "r");
  assert.deepEqual(await indexed(kv, "hel"), [1, 2]);
  assert.deepEqual(await indexed(kv, "hello"), [1]);
  assert.deepEqual(await indexed(kv, "w"), [1]);
  assert.deepEqual(await indexed(kv, "gone"), []);
  assert.deepEqual(await readIndexState(kv, "r"), { mark: 3, todo: false });
});

Deno.test("indexRoom() splits a message with many words over several commits", async () => {
  using kv = await Deno.openKv(":memory:");
  const words = Array.from({ length: 600 }, (_, i) => `w${i.toString(36)}x`);
  await store(kv, [row(1, words.join(" ")), row(2, "tail")]);
  await indexRoom(kv, "r");
  for (const w of [words[0]!, words[299]!, words[599]!, "tail"]) {
    assert.equal((await indexed(kv, w)).length, 1, w);
  }
  assert.equal((await readIndexState(kv, "r")).mark, 2);
});

Deno.test("indexRoom() re-indexes edited and deleted messages from their to-do rows", async () => {
  using kv = await Deno.openKv(":memory:");
  await store(kv, [row(1, "tomorow maybe"), row(2, "keep this"), row(3, "drop this")]);
  await indexRoom(kv, "r");
  // What a room commit writes for an edit of 1 and a delete of 3.
  const version: MessageVersion = {
    roomId: "r",
    seq: 1,
    version: 0,
    content: "tomorow maybe",
    writtenAt: 1,
    replacedAt: 9,
  };
  await kv.atomic()
    .set(keys.message("r", 1), row(1, "friday maybe", { editedAt: 9, editCount: 1 }))
    .set(keys.messageVersion("r", 1, 0), version)
    .set(keys.searchTodo("r", 1), null)
    .set(keys.message("r", 3), row(3, "drop this", { deletedAt: 9 }))
    .set(keys.searchTodo("r", 3), null)
    .commit();
  assert.equal((await readIndexState(kv, "r")).todo, true);
  await indexRoom(kv, "r");
  assert.deepEqual(await indexed(kv, "tomorow"), []);
  assert.deepEqual(await indexed(kv, "friday"), [1]);
  assert.deepEqual(await indexed(kv, "maybe"), [1], "words the edit kept stay indexed");
  assert.deepEqual(await indexed(kv, "this"), [2]);
  assert.deepEqual(await indexed(kv, "drop"), []);
  assert.deepEqual(await readIndexState(kv, "r"), { mark: 3, todo: false });
});

Deno.test("indexRoom() coalesces concurrent calls and handles to-do rows written meanwhile", async () => {
  using kv = await Deno.openKv(":memory:");
  await store(kv, [row(1, "first")]);
  await kv.set(keys.searchTodo("r", 1), null);
  // Coalesced calls: the second one makes the run go round again, and resolves with it.
  const runs = [indexRoom(kv, "r"), indexRoom(kv, "r")];
  await kv.set(keys.searchTodo("r", 1), null); // an edit committed meanwhile
  await Promise.all(runs);
  await indexRoom(kv, "r");
  assert.deepEqual(await readIndexState(kv, "r"), { mark: 1, todo: false });
  assert.deepEqual(await indexed(kv, "first"), [1]);
});

/** Commits what a room commit writes for an edit of message 1 of room "r" to `content`. */
async function edit(kv: Deno.Kv, content: string): Promise<void> {
  const current = (await kv.get<StoredMessage>(keys.message("r", 1))).value!;
  const version = current.editCount ?? 0;
  const previous: MessageVersion = {
    roomId: "r",
    seq: 1,
    version,
    content: current.content,
    writtenAt: current.editedAt ?? current.createdAt,
    replacedAt: 2000 + version,
  };
  await kv.atomic()
    .set(keys.message("r", 1), { ...current, content, editedAt: 2000 + version, editCount: version + 1 })
    .set(keys.messageVersion("r", 1, version), previous)
    .set(keys.searchTodo("r", 1), null)
    .commit();
}

/** Counts the KV entries a store hands out (gets and list entries). */
function counting(kv: Deno.Kv): { kv: Deno.Kv; read: () => number } {
  let entries = 0;
  const wrapped = new Proxy(kv, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (name === "get" || name === "getMany") {
        return async (...args: unknown[]) => {
          const got = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          entries += Array.isArray(got) ? got.length : 1;
          return got;
        };
      }
      if (name === "list") {
        return async function* (...args: unknown[]) {
          for await (const e of (value as (...a: unknown[]) => AsyncIterable<unknown>).apply(target, args)) {
            entries++;
            yield e;
          }
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: wrapped, read: () => entries };
}

Deno.test("indexRoom() re-indexes an edit reading O(1) rows however many versions the message kept", async () => {
  using kv = await Deno.openKv(":memory:");
  await store(kv, [row(1, "word0")]);
  await indexRoom(kv, "r");
  const c = counting(kv);
  const reads: number[] = [];
  for (let i = 1; i <= 30; i++) {
    await edit(kv, `word${i}`);
    const before = c.read();
    await indexRoom(c.kv, "r");
    reads.push(c.read() - before);
  }
  assert.equal(reads.at(-1), reads[1], `reads per re-index: ${reads}`);
  assert.deepEqual(await indexed(kv, "word30"), [1]);
  for (const old of ["word0", "word1", "word15", "word29"]) assert.deepEqual(await indexed(kv, old), [], old);
});

Deno.test("indexRoom() removes the terms of what it indexed, also when a message was edited before it was first indexed", async () => {
  using kv = await Deno.openKv(":memory:");
  await store(kv, [row(1, "alpha")]);
  await edit(kv, "beta"); // edited before the index saw it: the index starts from "beta"
  await indexRoom(kv, "r");
  assert.deepEqual(await indexed(kv, "beta"), [1]);
  await edit(kv, "gamma");
  await edit(kv, "delta"); // two edits between index runs
  await indexRoom(kv, "r");
  assert.deepEqual(await indexed(kv, "delta"), [1]);
  for (const old of ["alpha", "beta", "gamma"]) assert.deepEqual(await indexed(kv, old), [], old);
});
