import assert from "node:assert/strict";
import fc from "fast-check";
import { HttpError } from "../../http_error.ts";
import type { Profile, RoomState } from "../../storage/records.ts";
import { unreadCount } from "../room_head.ts";
import { type Batch, emptyFacts, startBatch } from "./command.ts";
import { applyCommand, type CommandKind, type CommandOf } from "./registry.ts";
import type { SendInput } from "./send.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const alice: Profile = { id: "alice", name: "Alice", avatar: null };
const bob: Profile = { id: "bob", name: "Bob", avatar: null };
const carol: Profile = { id: "carol", name: "Carol", avatar: null };

function text(content: string, extra: Partial<SendInput> = {}): SendInput {
  return { content, type: "text", ...extra };
}

/** A group of the given members (the first is the owner), built through the step itself. */
function group(members: Profile[]): Batch {
  const work = startBatch("g1", null, emptyFacts());
  applyCommand(work, {
    kind: "createGroup",
    creator: members[0]!,
    name: "Team",
    avatar: null,
    memberIds: members.slice(1).map((m) => m.id),
  }, { now: NOW, sendLimit: 0 });
  return startBatch("g1", work.state, emptyFacts());
}

function run<K extends CommandKind>(work: Batch, cmd: CommandOf<K>, now = NOW, sendLimit = 0) {
  return applyCommand(work, cmd, { now, sendLimit });
}

Deno.test("applyCommand() send gives seq lastSeq + 1 and moves the sender's read position", () => {
  const work = group([alice, bob]);
  const first = run(work, { kind: "send", sender: alice, input: text("one") });
  const second = run(work, { kind: "send", sender: bob, input: text("two") });
  assert.equal(first.message.seq, 1);
  assert.equal(second.message.seq, 2);
  assert.equal(first.message.id, "g1:1");
  assert.equal(work.state!.lastSeq, 2);
  assert.equal(work.state!.members.get("bob")!.readSeq, 2);
  assert.equal(unreadCount(work.state!, "alice"), 1);
  assert.equal(unreadCount(work.state!, "bob"), 0);
});

Deno.test("applyCommand() send to a missing room creates the direct room with both members", () => {
  const work = startBatch("dm_x", null, emptyFacts());
  const { message } = run(work, { kind: "send", sender: alice, input: text("hi"), peer: bob });
  assert.equal(work.state!.type, "DIRECT");
  assert.deepEqual([...work.state!.members.keys()].sort(), ["alice", "bob"]);
  assert.equal(message.seq, 1);
  assert.deepEqual(work.events.map((e) => e.type), ["room.created", "message.created"]);
});

Deno.test("applyCommand() send to a missing room without a peer is 404", () => {
  const work = startBatch("nope", null, emptyFacts());
  assert.throws(
    () => run(work, { kind: "send", sender: alice, input: text("hi") }),
    (err) => err instanceof HttpError && err.status === 404,
  );
});

Deno.test("applyCommand() send from someone never in the room is 404 as for no room, and changes nothing", () => {
  const work = group([alice, bob]);
  const before = structuredClone(work.state);
  assert.throws(
    () => run(work, { kind: "send", sender: carol, input: text("hi") }),
    (err) => err instanceof HttpError && err.status === 404 && err.message === "Room not found",
  );
  assert.deepEqual(work.state, before);
  assert.equal(work.events.length, 0);
});

Deno.test("applyCommand() send with a known clientMessageId returns the original and creates nothing", () => {
  const work = group([alice, bob]);
  const first = run(work, { kind: "send", sender: alice, input: text("hi", { clientMessageId: "c1" }) });
  const again = run(work, { kind: "send", sender: alice, input: text("hi", { clientMessageId: "c1" }) });
  assert.equal(again.created, false);
  assert.equal(again.message.id, first.message.id);
  assert.equal(work.state!.lastSeq, 1);
  assert.equal(work.events.filter((e) => e.type === "message.created").length, 1);
});

Deno.test("applyCommand() send treats the same clientMessageId from another sender as a new message", () => {
  const work = group([alice, bob]);
  run(work, { kind: "send", sender: alice, input: text("hi", { clientMessageId: "c1" }) });
  const bobs = run(work, { kind: "send", sender: bob, input: text("hi", { clientMessageId: "c1" }) });
  assert.equal(bobs.created, true);
  assert.equal(bobs.message.seq, 2);
});

Deno.test("applyCommand() send over the rate limit is 429 with Retry-After, and a replay is not limited", () => {
  const work = group([alice, bob]);
  run(work, { kind: "send", sender: alice, input: text("1", { clientMessageId: "a" }) }, NOW, 2);
  run(work, { kind: "send", sender: alice, input: text("2") }, NOW + 1000, 2);
  assert.throws(
    () => run(work, { kind: "send", sender: alice, input: text("3") }, NOW + 2000, 2),
    (err) => err instanceof HttpError && err.status === 429 && err.headers?.["Retry-After"] === "58",
  );
  const replay = run(
    work,
    { kind: "send", sender: alice, input: text("1", { clientMessageId: "a" }) },
    NOW + 3000,
    2,
  );
  assert.equal(replay.created, false);
  const later = run(work, { kind: "send", sender: alice, input: text("4") }, NOW + 60_001, 2);
  assert.equal(later.message.seq, 3);
});

Deno.test("applyCommand() send with replyToId needs a message of the same room", () => {
  const work = group([alice, bob]);
  const { message } = run(work, { kind: "send", sender: alice, input: text("q") });
  const reply = run(work, { kind: "send", sender: bob, input: text("a", { replyToId: message.id }) });
  assert.equal(reply.message.replyToId, "g1:1");
  for (const replyToId of ["g1:9", "other:1", "garbage"]) {
    assert.throws(
      () => run(work, { kind: "send", sender: bob, input: text("a", { replyToId }) }),
      (err) => err instanceof HttpError && err.status === 400,
    );
  }
});

Deno.test("applyCommand() send un-archives the room for every member", () => {
  const work = group([alice, bob]);
  work.state!.members.get("bob")!.archived = true;
  run(work, { kind: "send", sender: alice, input: text("wake up") });
  assert.equal(work.state!.members.get("bob")!.archived, false);
});

Deno.test("applyCommand() read moves the read position forward only", () => {
  const work = group([alice, bob]);
  for (let i = 0; i < 3; i++) run(work, { kind: "send", sender: alice, input: text(`m${i}`) });
  assert.equal(run(work, { kind: "read", userId: "bob", upToSeq: 2 }).unreadCount, 1);
  assert.equal(run(work, { kind: "read", userId: "bob", upToSeq: 1 }).unreadCount, 1);
  assert.equal(work.state!.members.get("bob")!.readSeq, 2);
  assert.equal(run(work, { kind: "read", userId: "bob" }).unreadCount, 0);
  assert.equal(run(work, { kind: "read", userId: "bob", upToSeq: 99 }).unreadCount, 0);
  assert.equal(work.state!.members.get("bob")!.readSeq, 3);
  const reads = work.events.filter((e) => e.type === "message.read");
  assert.deepEqual(reads.map((e) => e.type === "message.read" && e.seq), [2, 3]);
});

Deno.test("applyCommand() createGroup makes the creator owner and refuses oversize groups", () => {
  const work = group([alice, bob, carol]);
  assert.equal(work.state!.members.get("alice")!.role, "owner");
  assert.equal(work.state!.members.get("bob")!.role, "member");
  const big = startBatch("g2", null, emptyFacts());
  const memberIds = Array.from({ length: 200 }, (_, i) => `u${i}`);
  assert.throws(
    () => run(big, { kind: "createGroup", creator: alice, name: "Big", avatar: null, memberIds }),
    (err) => err instanceof HttpError && err.status === 400,
  );
});

// ---- Properties ------------------------------------------------------------------------------

type Op = { kind: "send"; who: number } | { kind: "read"; who: number; upTo: number | null };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("send" as const), who: fc.integer({ min: 0, max: 2 }) }),
  fc.record({
    kind: fc.constant("read" as const),
    who: fc.integer({ min: 0, max: 2 }),
    upTo: fc.option(fc.integer({ min: 0, max: 40 })),
  }),
);

Deno.test("applyCommand() unread counts equal other members' messages after each read position, for any interleaving", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const people = [alice, bob, carol];
      const work = group(people);
      // An independent model: who sent each message, and where each reader stands.
      const senders: string[] = [];
      const position: Record<string, number> = { alice: 0, bob: 0, carol: 0 };
      for (const op of ops) {
        const user = people[op.who]!;
        if (op.kind === "send") {
          run(work, { kind: "send", sender: user, input: text("x") });
          senders.push(user.id);
          position[user.id] = senders.length;
        } else {
          run(work, { kind: "read", userId: user.id, upToSeq: op.upTo ?? undefined });
          const target = Math.min(op.upTo ?? senders.length, senders.length);
          position[user.id] = Math.max(position[user.id]!, target);
        }
        for (const p of people) {
          const expected = senders.slice(position[p.id]).filter((s) => s !== p.id).length;
          assert.equal(unreadCount(work.state!, p.id), expected);
        }
      }
      assert.equal(work.state!.lastSeq, senders.length);
    }),
  );
});

Deno.test("applyCommand() seqs are 1..n with no gaps whatever commands are rejected in between", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 50 }), (whos) => {
      const work = group([alice, bob]);
      const outsider: Profile = { id: "zed", name: "Zed", avatar: null };
      const seqs: number[] = [];
      for (const who of whos) {
        const sender = [alice, bob, outsider, alice][who]!;
        try {
          seqs.push(run(work, { kind: "send", sender, input: text("x") }).message.seq);
        } catch (err) {
          assert.ok(err instanceof HttpError && err.status === 404);
        }
      }
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
    }),
  );
});

Deno.test("startBatch() leaves the loaded head untouched", () => {
  const base = group([alice, bob]).state as RoomState;
  const snapshot = structuredClone(base);
  const work = startBatch("g1", base, emptyFacts());
  run(work, { kind: "send", sender: alice, input: text("x") });
  assert.deepEqual(base, snapshot);
});
