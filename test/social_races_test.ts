import assert from "node:assert/strict";
import { block } from "../social/blocks.ts";
import type { SocialDeps } from "../social/deps.ts";
import { follow, unfollow } from "../social/follows.ts";
import { listNotifications, markNotificationsRead, notify } from "../social/notifications.ts";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import { openKv } from "../storage/kv.ts";
import { UserStore } from "../storage/users.ts";
import { expectStatus, setup } from "./helpers.ts";

type UserJson = { followers: number; following: number; isFollowing: boolean };

async function edges(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  return (await Array.fromAsync(kv.list({ prefix }))).length;
}

Deno.test("50 concurrent follows and unfollows of one pair keep both counts equal to the edge", async () => {
  await using t = await setup();
  await t.login("alice");
  await t.login("bob");
  const results = await Promise.all(
    Array.from(
      { length: 50 },
      (_, i) => t.api("alice", i % 3 === 2 ? "DELETE" : "POST", "/api/users/bob/follow"),
    ),
  );
  for (const res of results) await expectStatus(res, 200);
  const bob = await expectStatus<UserJson>(await t.api("alice", "GET", "/api/users/bob"), 200);
  const alice = await expectStatus<UserJson>(await t.api("bob", "GET", "/api/users/alice"), 200);
  const edge = (await t.kv.get(keys.follow("alice", "bob"))).value === null ? 0 : 1;
  assert.equal(bob.followers, edge);
  assert.equal(alice.following, edge);
  assert.equal(bob.isFollowing, edge === 1);
  assert.equal(await edges(t.kv, keys.followers("bob")), edge);
  const page = await expectStatus<{ notifications: unknown[]; unreadCount: number }>(
    await t.api("bob", "GET", "/api/notifications"),
    200,
  );
  assert.equal(page.notifications.length, 1, "one notification however often alice re-followed");
  assert.equal(page.unreadCount, 1);
});

Deno.test("50 users following one user at once give 50 followers and 50 unread notifications", async () => {
  await using t = await setup();
  const fans = Array.from({ length: 50 }, (_, i) => `fan${i}`);
  for (const id of ["star", ...fans]) await t.login(id);
  const results = await Promise.all(fans.map((id) => t.api(id, "POST", "/api/users/star/follow")));
  for (const res of results) await expectStatus(res, 200);
  const star = await expectStatus<UserJson>(await t.api("fan0", "GET", "/api/users/star"), 200);
  assert.equal(star.followers, 50);
  const page = await expectStatus<{ notifications: { id: string }[]; unreadCount: number }>(
    await t.api("star", "GET", "/api/notifications?limit=100"),
    200,
  );
  assert.equal(page.unreadCount, 50);
  assert.deepEqual(
    page.notifications.map((n) => n.id),
    Array.from({ length: 50 }, (_, i) => `n${50 - i}`),
    "seqs 1..50, no gaps, newest first",
  );
});

Deno.test("two processes racing follows, unfollows, blocks, notifications and reads keep every count exact", async () => {
  await using t = await twoProcesses();
  const [p, q] = t.deps;
  const users = ["ann", "ben", "cat", "dan", "eve"];
  const ops: (() => Promise<unknown>)[] = [];
  for (let i = 0; i < 50; i++) {
    const d = i % 2 ? p! : q!;
    const from = users[i % 5]!;
    const to = users[(i * 3 + 1) % 5]!;
    const actor = { id: from, name: from, avatar: null };
    // Many operations on one pair (ann→ben) and one feed (ben), the rest spread.
    if (i % 5 === 0) ops.push(() => follow(d, { id: "ann", name: "Ann", avatar: null }, "ben"));
    else if (i % 5 === 1) ops.push(() => unfollow(d, { id: "ann", name: "Ann", avatar: null }, "ben"));
    else if (i % 5 === 2) ops.push(() => notify(d, "ben", { type: "test", title: `t${i}` }));
    else if (i % 5 === 3) {
      ops.push(() => markNotificationsRead(d, "ben", i % 2 ? undefined : [`n${i % 7 + 1}`]));
    } else {ops.push(
        () => (from === to ? Promise.resolve() : i % 7 ? follow(d, actor, to) : block(d, actor, to)),
      );}
  }
  const settled = await Promise.allSettled(ops.map((op) => op()));
  for (const s of settled) {
    // The only refusals: following across a block.
    if (s.status === "rejected") {
      assert.equal((s.reason as { status?: number }).status, 403, String(s.reason));
    }
  }
  const kv = t.kv;
  for (const id of users) {
    const [followers, following] = await kv.getMany<[Deno.KvU64, Deno.KvU64]>([
      keys.followersCount(id),
      keys.followingCount(id),
    ]);
    assert.equal(
      Number(followers.value?.value ?? 0n),
      await edges(kv, keys.followers(id)),
      `${id} followers`,
    );
    assert.equal(
      Number(following.value?.value ?? 0n),
      await edges(kv, keys.following(id)),
      `${id} following`,
    );
  }
  const page = await listNotifications(kv, "ben", { limit: 100 });
  assert.equal(page.unreadCount, page.notifications.filter((n) => !n.isRead).length);
});

Deno.test("two processes following and unfollowing one pair at the same moment never double-count", async () => {
  await using t = await twoProcesses();
  const ann = { id: "ann", name: "Ann", avatar: null };
  const counts = () =>
    t.kv.getMany<[Deno.KvU64, Deno.KvU64]>([keys.followersCount("ben"), keys.followingCount("ann")]);
  for (let round = 0; round < 25; round++) {
    const changed = await Promise.all(t.deps.map((d) => follow(d, ann, "ben")));
    assert.equal(changed.filter(Boolean).length, 1, `round ${round}: one follow creates the edge`);
    assert.deepEqual((await counts()).map((e) => e.value?.value), [1n, 1n], `round ${round} after follow`);
    const removed = await Promise.all(t.deps.map((d) => unfollow(d, ann, "ben")));
    assert.equal(removed.filter(Boolean).length, 1, `round ${round}: one unfollow removes it`);
    assert.deepEqual((await counts()).map((e) => e.value?.value), [0n, 0n], `round ${round} after unfollow`);
  }
});

Deno.test("two processes adding and reading notifications at the same moment keep unread exact", async () => {
  await using t = await twoProcesses();
  const [p, q] = t.deps;
  for (let round = 0; round < 60; round++) {
    await Promise.all([
      notify(p!, "ben", { type: "test", title: `a${round}` }),
      markNotificationsRead(q!, "ben", round % 2 ? undefined : [`n${round + 1}`, `n${round + 2}`]),
      notify(q!, "ben", { type: "test", title: `b${round}` }),
      markNotificationsRead(p!, "ben", [`n${round + 1}`]),
    ]);
    const page = await listNotifications(t.kv, "ben", { limit: 100 });
    assert.equal(page.unreadCount, page.notifications.filter((n) => !n.isRead).length, `round ${round}`);
  }
});

/** Two runtimes' worth of social deps on one KV file: like two processes, they share no lock. */
async function twoProcesses() {
  const dir = await Deno.makeTempDir({ prefix: "social-races-" });
  const path = `${dir}/chat.kv`;
  const first = await openKv(path);
  const users = new UserStore(first);
  for (const id of ["ann", "ben", "cat", "dan", "eve"]) await users.upsert({ id, name: id });
  const second = await openKv(path);
  const deps: SocialDeps[] = [first, second].map((kv) => ({
    kv,
    users: new UserStore(kv),
    batcher: new CommitBatcher(kv),
    push: false,
  }));
  return {
    kv: first,
    deps,
    async [Symbol.asyncDispose]() {
      for (const d of deps) {
        await d.batcher.drain();
        d.kv.close();
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}
