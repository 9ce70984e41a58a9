import assert from "node:assert/strict";
import fc from "fast-check";
import { HttpError } from "../http_error.ts";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import type { NotificationHead, StoredNotification } from "../storage/records.ts";
import { UserStore } from "../storage/users.ts";
import { block, unblock } from "./blocks.ts";
import type { SocialDeps } from "./deps.ts";
import { follow, followCounts, followNotification, unfollow } from "./follows.ts";
import { EMPTY_HEAD, isUnread, markNotificationsRead } from "./notifications.ts";

const USERS = ["ann", "ben", "cat", "dan"];

Deno.test("followNotification() says who followed, links to them and carries them in metadata", () => {
  assert.deepEqual(followNotification({ id: "alice", name: "Alice", avatar: "https://img.example/a.png" }), {
    type: "follow",
    title: "Alice started following you",
    body: "",
    link: "/users/alice",
    metadata: { actorId: "alice", actorName: "Alice", actorAvatar: "https://img.example/a.png" },
  });
});

type Op =
  | { kind: "follow" | "unfollow" | "block" | "unblock"; from: string; to: string }
  | { kind: "readAll"; user: string }
  | { kind: "readSome"; user: string; seqs: number[] };

const user = fc.constantFrom(...USERS);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("follow" as const), from: user, to: user }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("unfollow" as const), from: user, to: user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("block" as const), from: user, to: user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("unblock" as const), from: user, to: user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("readAll" as const), user }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("readSome" as const),
      user,
      seqs: fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 3 }),
    }),
  },
);

/** What the store should hold after a sequence of operations. */
interface Model {
  edges: Set<string>;
  blocks: Set<string>;
  /** Pairs whose follow already notified (the quiet period outlasts a test). */
  notified: Set<string>;
  notifications: Map<string, number>;
}

Deno.test("follow, unfollow, block and unblock in any order match a model and keep counts exact (property)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
      await using t = await socialKv();
      const model: Model = {
        edges: new Set(),
        blocks: new Set(),
        notified: new Set(),
        notifications: new Map(),
      };
      for (const o of ops) {
        const outcome = await run(t.deps, o).then(() => "ok", (err) => describe(err));
        assert.equal(outcome, expectInModel(model, o), JSON.stringify(o));
      }
      const state = await readState(t.kv);
      assert.deepEqual([...state.edges].sort(), [...model.edges].sort());
      assert.deepEqual([...state.blocks].sort(), [...model.blocks].sort());
      for (const id of USERS) assert.equal(state.rows.get(id) ?? 0, model.notifications.get(id) ?? 0, id);
      assertConsistent(state);
    }),
    { numRuns: 40 },
  );
});

Deno.test("concurrent follow, unfollow, block and mark-read keep counts equal to the edge sets (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(op, { minLength: 1, maxLength: 8 }), { maxLength: 5 }),
      async (rounds) => {
        // Two KV handles on one file act as two processes: the in-process lock does not
        // serialize them, so only the commits' checks keep the counts exact.
        await using t = await socialKv({ handles: 2 });
        for (const round of rounds) {
          await Promise.allSettled(round.map((o, i) => run(t.handles[i % 2]!, o)));
        }
        assertConsistent(await readState(t.kv));
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("followCounts() reads zero for a user nobody ever followed", async () => {
  await using t = await socialKv();
  assert.deepEqual(await followCounts(t.kv, "ann"), { followers: 0, following: 0 });
});

function run(deps: SocialDeps, o: Op): Promise<unknown> {
  switch (o.kind) {
    case "follow":
      return follow(deps, profile(o.from), o.to);
    case "unfollow":
      return unfollow(deps, profile(o.from), o.to);
    case "block":
      return block(deps, profile(o.from), o.to);
    case "unblock":
      return unblock(deps, profile(o.from), o.to);
    case "readAll":
      return markNotificationsRead(deps, o.user);
    case "readSome":
      return markNotificationsRead(deps, o.user, o.seqs.map((s) => `n${s}`));
  }
}

/** Applies `o` to the model and says what the service should answer. */
function expectInModel(model: Model, o: Op): string {
  if (o.kind === "readAll" || o.kind === "readSome") return "ok";
  if (o.from === o.to) return "400";
  const pair = `${o.from}>${o.to}`;
  const back = `${o.to}>${o.from}`;
  switch (o.kind) {
    case "follow":
      if (model.blocks.has(pair) || model.blocks.has(back)) return "403";
      if (!model.edges.has(pair) && !model.notified.has(pair)) {
        model.notified.add(pair);
        model.notifications.set(o.to, (model.notifications.get(o.to) ?? 0) + 1);
      }
      model.edges.add(pair);
      return "ok";
    case "unfollow":
      model.edges.delete(pair);
      return "ok";
    case "block":
      model.blocks.add(pair);
      model.edges.delete(pair);
      model.edges.delete(back);
      return "ok";
    case "unblock":
      model.blocks.delete(pair);
      return "ok";
  }
}

interface State {
  edges: Set<string>;
  reverse: Set<string>;
  blocks: Set<string>;
  counters: Map<string, number>;
  heads: Map<string, NotificationHead>;
  rows: Map<string, number>;
  unreadRows: Map<string, number>;
}

function pair(key: Deno.KvKey, a: number, b: number): string {
  return `${String(key[a])}>${String(key[b])}`;
}

async function readState(kv: Deno.Kv): Promise<State> {
  const state: State = {
    edges: new Set(),
    reverse: new Set(),
    blocks: new Set(),
    counters: new Map(),
    heads: new Map(),
    rows: new Map(),
    unreadRows: new Map(),
  };
  for await (const e of kv.list({ prefix: ["follow"] })) state.edges.add(pair(e.key, 1, 2));
  for await (const e of kv.list({ prefix: ["follower"] })) state.reverse.add(pair(e.key, 2, 1));
  for await (const e of kv.list({ prefix: ["block"] })) state.blocks.add(pair(e.key, 1, 2));
  for await (const e of kv.list<Deno.KvU64>({ prefix: ["follow_count"] })) {
    state.counters.set(`${String(e.key[1])}:${String(e.key[2])}`, Number(e.value.value));
  }
  for (const id of USERS) {
    const head = (await kv.get<NotificationHead>(keys.notificationHead(id))).value ?? EMPTY_HEAD;
    state.heads.set(id, head);
    for await (const e of kv.list<StoredNotification>({ prefix: keys.notifications(id) })) {
      state.rows.set(id, (state.rows.get(id) ?? 0) + 1);
      if (isUnread(head, e.value)) state.unreadRows.set(id, (state.unreadRows.get(id) ?? 0) + 1);
    }
  }
  return state;
}

function assertConsistent(state: State): void {
  assert.deepEqual([...state.reverse].sort(), [...state.edges].sort(), "reverse index mirrors the edges");
  for (const id of USERS) {
    const followers = [...state.edges].filter((e) => e.endsWith(`>${id}`)).length;
    const following = [...state.edges].filter((e) => e.startsWith(`${id}>`)).length;
    assert.equal(state.counters.get(`${id}:followers`) ?? 0, followers, `${id} followers`);
    assert.equal(state.counters.get(`${id}:following`) ?? 0, following, `${id} following`);
    assert.equal(state.heads.get(id)!.unread, state.unreadRows.get(id) ?? 0, `${id} unread`);
    assert.equal(state.heads.get(id)!.lastSeq, state.rows.get(id) ?? 0, `${id} rows`);
  }
  for (const b of state.blocks) {
    const [x, y] = b.split(">");
    assert.ok(!state.edges.has(`${x}>${y}`) && !state.edges.has(`${y}>${x}`), `no follow across block ${b}`);
  }
}

function describe(err: unknown): string {
  if (err instanceof HttpError) return String(err.status);
  throw err;
}

function profile(id: string) {
  return { id, name: id.toUpperCase(), avatar: null };
}

async function socialKv(options: { handles?: number } = {}) {
  const dir = options.handles ? await Deno.makeTempDir({ prefix: "social-test-" }) : undefined;
  const open = () => Deno.openKv(dir ? `${dir}/kv.sqlite` : ":memory:");
  const handles: SocialDeps[] = [];
  for (let i = 0; i < (options.handles ?? 1); i++) {
    const kv = await open();
    handles.push({ kv, users: new UserStore(kv), batcher: new CommitBatcher(kv), push: false });
    // Before the next handle opens: its start-up may hold the file's write lock for a moment.
    if (i === 0) { for (const id of USERS) await handles[0]!.users.upsert(profile(id)); }
  }
  const deps = handles[0]!;
  return {
    kv: deps.kv,
    deps,
    handles,
    async [Symbol.asyncDispose]() {
      for (const h of handles) {
        await h.batcher.drain();
        h.kv.close();
      }
      if (dir) await Deno.remove(dir, { recursive: true });
    },
  };
}
