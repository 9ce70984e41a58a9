/**
 * Forces the one interleaving each check exists for: another process commits
 * between a social operation's reads and its commit. The commit must fail its
 * check and the retry must see the other change.
 */
import assert from "node:assert/strict";
import type { CommitBatcher, CommitUnit } from "../storage/commit_batcher.ts";
import { CommitBatcher as Batcher } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import { UserStore } from "../storage/users.ts";
import { block } from "./blocks.ts";
import type { SocialDeps } from "./deps.ts";
import { follow, unfollow } from "./follows.ts";
import { listNotifications, markNotificationsRead, notify } from "./notifications.ts";

const ANN = { id: "ann", name: "Ann", avatar: null };
const BEN = { id: "ben", name: "Ben", avatar: null };

Deno.test("follow() retries when the same follow commits between its read and its commit", async () => {
  await using t = await interleaved();
  await follow(t.other, ANN, "ben");
  await unfollow(t.other, ANN, "ben"); // the quiet period now spares this pair a second notification
  t.before(() => follow(t.other, ANN, "ben"));
  assert.equal(await follow(t.deps, ANN, "ben"), false, "the retry finds the edge");
  assert.deepEqual(await counts(t.kv), [1n, 1n]);
});

Deno.test("unfollow() retries when the same unfollow commits between its read and its commit", async () => {
  await using t = await interleaved();
  await follow(t.other, ANN, "ben");
  t.before(() => unfollow(t.other, ANN, "ben"));
  assert.equal(await unfollow(t.deps, ANN, "ben"), false);
  assert.deepEqual(await counts(t.kv), [0n, 0n]);
});

Deno.test("block() retries when a follow between the two commits between its read and its commit", async () => {
  await using t = await interleaved();
  t.before(() => follow(t.other, BEN, "ann"));
  assert.equal(await block(t.deps, ANN, "ben"), true);
  assert.equal((await t.kv.get(keys.follow("ben", "ann"))).value, null, "the block removed the new edge");
  const [followers, following] = await t.kv.getMany<[Deno.KvU64, Deno.KvU64]>([
    keys.followersCount("ann"),
    keys.followingCount("ben"),
  ]);
  assert.deepEqual([followers.value?.value, following.value?.value], [0n, 0n]);
});

Deno.test("markNotificationsRead() retries when a notification lands between its read and its commit", async () => {
  await using t = await interleaved();
  await notify(t.other, "ben", { type: "test", title: "first" });
  t.before(() => notify(t.other, "ben", { type: "test", title: "second" }));
  assert.equal(await markNotificationsRead(t.deps, "ben"), 0);
  const page = await listNotifications(t.kv, "ben", { limit: 10 });
  assert.deepEqual(page.notifications.map((n) => n.isRead), [true, true]);
  assert.equal(page.unreadCount, 0);
});

Deno.test("markNotificationsRead(ids) retries when the same ids are marked between its read and its commit", async () => {
  await using t = await interleaved();
  await notify(t.other, "ben", { type: "test", title: "first" });
  await notify(t.other, "ben", { type: "test", title: "second" });
  t.before(() => markNotificationsRead(t.other, "ben", ["n1"]));
  assert.equal(await markNotificationsRead(t.deps, "ben", ["n1"]), 1, "n1 is counted down once");
});

async function counts(kv: Deno.Kv): Promise<(bigint | undefined)[]> {
  const entries = await kv.getMany<[Deno.KvU64, Deno.KvU64]>([
    keys.followersCount("ben"),
    keys.followingCount("ann"),
  ]);
  return entries.map((e) => e.value?.value);
}

/**
 * Social deps whose first commit runs a hook first, and a second set of deps on
 * another KV handle of the same file (another process: it shares no lock).
 */
async function interleaved() {
  const dir = await Deno.makeTempDir({ prefix: "social-interleaving-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  const users = new UserStore(kv);
  for (const u of [ANN, BEN]) await users.upsert(u);
  const otherKv = await Deno.openKv(`${dir}/kv.sqlite`);
  const real = new Batcher(kv);
  let hook: (() => Promise<unknown>) | undefined;
  const batcher = {
    async commit(unit: CommitUnit) {
      const run = hook;
      hook = undefined;
      await run?.();
      return await real.commit(unit);
    },
  } as unknown as CommitBatcher;
  const otherBatcher = new Batcher(otherKv);
  const deps: SocialDeps = { kv, users, batcher, push: false };
  const other: SocialDeps = {
    kv: otherKv,
    users: new UserStore(otherKv),
    batcher: otherBatcher,
    push: false,
  };
  return {
    kv,
    deps,
    other,
    /** Runs `fn` (to completion) right before the next commit of `deps`. */
    before(fn: () => Promise<unknown>) {
      hook = fn;
    },
    async [Symbol.asyncDispose]() {
      await real.drain();
      await otherBatcher.drain();
      kv.close();
      otherKv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
