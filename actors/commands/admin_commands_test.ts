import assert from "node:assert/strict";
import { applyMutations } from "../../test/support/kv_model.ts";
import fc from "fast-check";
import { HttpError } from "../../http_error.ts";
import { MAX_GROUP_MEMBERS, MAX_REACTION_KINDS } from "../../limits.ts";
import { keys } from "../../storage/keys.ts";
import type { Profile, RoomState, StoredMessage } from "../../storage/records.ts";
import { isActive, successorOf, unreadCount } from "../room_head.ts";
import { type Batch, emptyFacts, startBatch } from "./command.ts";
import { applyCommand, type CommandKind, type CommandOf, type RoomCommand } from "./registry.ts";
import { buildRoomUnit, type LoadedHead } from "../room_writes.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const people: Profile[] = ["alice", "bob", "carol", "dave", "erin"].map((id) => ({
  id,
  name: id[0]!.toUpperCase() + id.slice(1),
  avatar: null,
}));
const [alice, bob, carol] = people as [Profile, Profile, Profile];

function run<K extends CommandKind>(work: Batch, cmd: CommandOf<K>, now = NOW) {
  return applyCommand(work, cmd, { now, sendLimit: 0 });
}

/**
 * A group owned by alice with bob as admin and carol as member; every message
 * row stays in the facts, and the whole history counts as loaded.
 */
function team(): Batch {
  const work = startBatch("g1", null, emptyFacts());
  run(work, { kind: "createGroup", creator: alice, name: "Team", avatar: null, memberIds: ["bob", "carol"] });
  work.state!.members.get("bob")!.role = "admin";
  work.facts.recent = { floor: 1, noneBelow: true };
  return startBatch("g1", work.state, work.facts);
}

function send(work: Batch, sender: Profile, content: string, now = NOW): StoredMessage {
  return run(work, { kind: "send", sender, input: { content, type: "text" } }, now).message;
}

function rejects(fn: () => unknown, status: number): void {
  assert.throws(fn, (err) => err instanceof HttpError && err.status === status);
}

/** Runs a command that must be refused, and checks that it changed nothing. */
function refused(work: Batch, cmd: RoomCommand, status: number): void {
  const before = structuredClone({ state: work.state, events: work.events, rows: [...work.changedMessages] });
  rejects(() => run(work, cmd), status);
  assert.deepEqual(
    { state: work.state, events: work.events, rows: [...work.changedMessages] },
    before,
  );
}

Deno.test("applyCommand() edit keeps the previous version, sets editedAt and updates the latest preview", () => {
  const work = team();
  send(work, alice, "first");
  send(work, alice, "helo");
  const { message, changed } = run(
    work,
    { kind: "edit", userId: "alice", seq: 2, content: "hello" },
    NOW + 5,
  );
  assert.equal(changed, true);
  assert.equal(message.content, "hello");
  assert.equal(message.editedAt, NOW + 5);
  assert.equal(message.editCount, 1);
  assert.equal(work.state!.lastMessage!.text, "hello");
  assert.deepEqual(work.newVersions, [
    { roomId: "g1", seq: 2, version: 0, content: "helo", writtenAt: NOW, replacedAt: NOW + 5 },
  ]);
  run(work, { kind: "edit", userId: "alice", seq: 2, content: "hello!" }, NOW + 9);
  assert.equal(work.newVersions[1]!.version, 1);
  assert.equal(work.newVersions[1]!.writtenAt, NOW + 5);
  run(work, { kind: "edit", userId: "alice", seq: 1, content: "one" });
  assert.equal(work.state!.lastMessage!.text, "hello!", "editing an older message leaves the preview");
  assert.deepEqual(work.events.filter((e) => e.type === "message.updated").map((e) => e.seq), [2, 2, 1]);
});

Deno.test("applyCommand() edit is for the sender of a visible message only, and refusals change nothing", () => {
  const work = team();
  send(work, alice, "mine");
  refused(work, { kind: "edit", userId: "bob", seq: 1, content: "x" }, 403);
  refused(work, { kind: "edit", userId: "dave", seq: 1, content: "x" }, 404); // never a member: as no room
  refused(work, { kind: "edit", userId: "alice", seq: 2, content: "x" }, 404);
  refused(work, { kind: "edit", userId: "alice", seq: 1, content: "" }, 400);
  refused(work, { kind: "edit", userId: "alice", seq: 1, content: "y".repeat(70_000) }, 400);
  run(work, { kind: "delete", userId: "alice", seq: 1 });
  refused(work, { kind: "edit", userId: "alice", seq: 1, content: "x" }, 404);
});

Deno.test("applyCommand() edit with the same content changes nothing", () => {
  const work = team();
  send(work, alice, "same");
  const events = work.events.length;
  assert.equal(run(work, { kind: "edit", userId: "alice", seq: 1, content: "same" }).changed, false);
  assert.equal(work.events.length, events);
  assert.equal(work.newVersions.length, 0);
});

Deno.test("applyCommand() delete is for the sender or a group owner/admin", () => {
  const work = team();
  send(work, carol, "c1");
  send(work, bob, "b1");
  refused(work, { kind: "delete", userId: "carol", seq: 2 }, 403); // a member, not the sender
  refused(work, { kind: "delete", userId: "dave", seq: 1 }, 404); // never a member: as no room
  refused(work, { kind: "delete", userId: "carol", seq: 9 }, 404);
  assert.equal(run(work, { kind: "delete", userId: "bob", seq: 1 }).deleted, true); // admin
  assert.equal(run(work, { kind: "delete", userId: "alice", seq: 2 }).deleted, true); // owner
  assert.equal(work.facts.messages.get(1)!.deletedBy, "bob");
});

Deno.test("applyCommand() delete in a direct room is for the sender only", () => {
  const work = startBatch("dm", null, emptyFacts());
  run(work, { kind: "send", sender: alice, input: { content: "hi", type: "text" }, peer: bob });
  work.facts.recent = { floor: 1, noneBelow: true };
  refused(work, { kind: "delete", userId: "bob", seq: 1 }, 403);
  assert.equal(run(work, { kind: "delete", userId: "alice", seq: 1 }).deleted, true);
});

Deno.test("applyCommand() delete twice succeeds once and records one event", () => {
  const work = team();
  send(work, alice, "x");
  assert.equal(run(work, { kind: "delete", userId: "alice", seq: 1 }).deleted, true);
  assert.equal(run(work, { kind: "delete", userId: "alice", seq: 1 }).deleted, false);
  assert.equal(work.events.filter((e) => e.type === "message.deleted").length, 1);
  refused(work, { kind: "delete", userId: "carol", seq: 1 }, 403); // still only for those who may
});

Deno.test("applyCommand() delete lowers the unread counts of those who had not read it", () => {
  const work = team();
  send(work, alice, "1");
  send(work, alice, "2");
  run(work, { kind: "read", userId: "bob" });
  assert.equal(unreadCount(work.state!, "carol"), 2);
  run(work, { kind: "delete", userId: "alice", seq: 2 });
  assert.equal(unreadCount(work.state!, "carol"), 1);
  assert.equal(unreadCount(work.state!, "bob"), 0);
  const event = work.events.find((e) => e.type === "message.deleted");
  assert.deepEqual(event?.type === "message.deleted" && event.unread, { carol: 1 });
  run(work, { kind: "read", userId: "carol" });
  assert.deepEqual(work.state!.deletedUnread, [], "pruned once everyone read past it");
});

Deno.test("applyCommand() delete of the latest message falls back to the previous visible one", () => {
  const work = team();
  send(work, alice, "one", NOW + 1);
  send(work, bob, "two", NOW + 2);
  send(work, alice, "three", NOW + 3);
  run(work, { kind: "delete", userId: "bob", seq: 2 });
  assert.equal(work.state!.lastMessage!.seq, 3);
  run(work, { kind: "delete", userId: "alice", seq: 3 });
  assert.deepEqual(work.state!.lastMessage, {
    id: "g1:1",
    seq: 1,
    senderId: "alice",
    text: "one",
    createdAt: NOW + 1,
  });
  run(work, { kind: "delete", userId: "alice", seq: 1 });
  assert.equal(work.state!.lastMessage, null);
  assert.equal(work.state!.lastActivityAt, NOW + 3, "the room keeps its place in room lists");
});

Deno.test("applyCommand() delete of the latest message needs the recent rows loaded", () => {
  const work = team();
  send(work, alice, "one");
  send(work, alice, "two");
  const later = startBatch("g1", work.state, { ...emptyFacts(), messages: new Map(work.facts.messages) });
  assert.throws(() => run(later, { kind: "delete", userId: "alice", seq: 2 }), TypeError);
  later.facts.recent = { floor: 2, noneBelow: false };
  assert.throws(() => run(later, { kind: "delete", userId: "alice", seq: 2 }), TypeError);
  later.facts.recent = { floor: 1, noneBelow: false };
  run(later, { kind: "delete", userId: "alice", seq: 2 });
  assert.equal(later.state!.lastMessage!.seq, 1);
});

Deno.test("applyCommand() react toggles the caller's reaction for members of visible messages", () => {
  const work = team();
  send(work, alice, "x");
  assert.equal(run(work, { kind: "react", userId: "bob", seq: 1, emoji: "👍" }).added, true);
  const { message, added } = run(work, { kind: "react", userId: "carol", seq: 1, emoji: "👍" });
  assert.equal(added, true);
  assert.deepEqual(message.reactions, new Map([["👍", ["bob", "carol"]]]));
  assert.equal(run(work, { kind: "react", userId: "bob", seq: 1, emoji: "👍" }).added, false);
  const last = run(work, { kind: "react", userId: "carol", seq: 1, emoji: "👍" });
  assert.deepEqual(last.message.reactions, new Map());
  refused(work, { kind: "react", userId: "dave", seq: 1, emoji: "👍" }, 404);
  refused(work, { kind: "react", userId: "bob", seq: 5, emoji: "👍" }, 404);
  run(work, { kind: "delete", userId: "alice", seq: 1 });
  refused(work, { kind: "react", userId: "bob", seq: 1, emoji: "👍" }, 404);
});

Deno.test("applyCommand() react caps the different emojis of a message", () => {
  const work = team();
  send(work, alice, "x");
  for (let i = 0; i < MAX_REACTION_KINDS; i++) {
    run(work, { kind: "react", userId: "bob", seq: 1, emoji: `e${i}` });
  }
  refused(work, { kind: "react", userId: "bob", seq: 1, emoji: "one-more" }, 400);
  assert.equal(run(work, { kind: "react", userId: "carol", seq: 1, emoji: "e0" }).added, true);
});

Deno.test("applyCommand() addMembers is for the owner and admins of a group, within the size cap", () => {
  const work = team();
  refused(work, { kind: "addMembers", userId: "carol", memberIds: ["dave"] }, 403);
  refused(work, { kind: "addMembers", userId: "dave", memberIds: ["dave"] }, 404);
  const many = Array.from({ length: MAX_GROUP_MEMBERS - 2 }, (_, i) => `u${i}`);
  refused(work, { kind: "addMembers", userId: "alice", memberIds: many }, 400);
  assert.deepEqual(run(work, { kind: "addMembers", userId: "bob", memberIds: ["dave", "carol"] }).added, [
    "dave",
  ]);
  assert.equal(work.state!.members.get("dave")!.role, "member");
  assert.deepEqual(run(work, { kind: "addMembers", userId: "bob", memberIds: ["dave"] }).added, []);
  assert.equal(work.events.filter((e) => e.type === "member.added").length, 1);
});

Deno.test("applyCommand() membership commands refuse direct rooms", () => {
  const work = startBatch("dm", null, emptyFacts());
  run(work, { kind: "send", sender: alice, input: { content: "hi", type: "text" }, peer: bob });
  refused(work, { kind: "addMembers", userId: "alice", memberIds: ["carol"] }, 400);
  refused(work, { kind: "removeMember", userId: "alice", memberId: "alice" }, 400);
  refused(work, { kind: "removeMember", userId: "alice", memberId: "bob" }, 400);
  refused(work, { kind: "updateRoom", userId: "alice", name: "x" }, 400);
  refused(work, { kind: "setRole", userId: "alice", memberId: "bob", role: "admin" }, 400);
});

Deno.test("applyCommand() a member who leaves keeps history up to leftSeq and counts nothing unread", () => {
  const work = team();
  send(work, alice, "1");
  send(work, alice, "2");
  assert.equal(unreadCount(work.state!, "carol"), 2);
  assert.deepEqual(run(work, { kind: "removeMember", userId: "carol", memberId: "carol" }), { left: true });
  assert.equal(work.state!.members.get("carol")!.leftSeq, 2);
  assert.equal(unreadCount(work.state!, "carol"), 0);
  send(work, alice, "3");
  assert.equal(unreadCount(work.state!, "carol"), 0);
  refused(work, { kind: "send", sender: carol, input: { content: "hi", type: "text" } }, 403);
  refused(work, { kind: "read", userId: "carol" }, 403);
  // Re-added, she is active again from the current lastSeq.
  run(work, { kind: "addMembers", userId: "alice", memberIds: ["carol"] });
  assert.ok(isActive(work.state!.members.get("carol")));
  assert.equal(work.state!.members.get("carol")!.readSeq, 3);
  assert.equal(unreadCount(work.state!, "carol"), 0);
  send(work, bob, "4");
  assert.equal(unreadCount(work.state!, "carol"), 1);
});

Deno.test("applyCommand() removeMember: the owner removes anyone, an admin only members, a member nobody", () => {
  const work = team();
  run(work, { kind: "addMembers", userId: "alice", memberIds: ["dave", "erin"] });
  refused(work, { kind: "removeMember", userId: "carol", memberId: "dave" }, 403);
  refused(work, { kind: "removeMember", userId: "bob", memberId: "alice" }, 403);
  run(work, { kind: "setRole", userId: "alice", memberId: "erin", role: "admin" });
  refused(work, { kind: "removeMember", userId: "bob", memberId: "erin" }, 403);
  refused(work, { kind: "removeMember", userId: "bob", memberId: "nobody" }, 404);
  assert.deepEqual(run(work, { kind: "removeMember", userId: "bob", memberId: "dave" }), { left: false });
  refused(work, { kind: "removeMember", userId: "bob", memberId: "dave" }, 404);
  run(work, { kind: "removeMember", userId: "alice", memberId: "erin" });
  run(work, { kind: "removeMember", userId: "alice", memberId: "bob" });
  const removed = work.events.filter((e) => e.type === "member.removed");
  assert.deepEqual(removed.map((e) => e.type === "member.removed" && [e.userId, e.removedBy, e.left]), [
    ["dave", "bob", false],
    ["erin", "alice", false],
    ["bob", "alice", false],
  ]);
});

Deno.test("applyCommand() when the owner leaves, the longest-standing admin becomes owner, else a member", () => {
  const work = team();
  run(work, { kind: "addMembers", userId: "alice", memberIds: ["dave"] }, NOW - 1000);
  run(work, { kind: "setRole", userId: "alice", memberId: "dave", role: "admin" });
  work.state!.members.get("dave")!.joinedAt = NOW - 1; // dave has been around longer than bob
  assert.equal(successorOf(work.state!, "alice"), "dave");
  assert.deepEqual(run(work, { kind: "removeMember", userId: "alice", memberId: "alice" }), {
    left: true,
    ownerId: "dave",
  });
  assert.equal(work.state!.members.get("dave")!.role, "owner");
  assert.equal(work.state!.members.get("alice")!.role, "member");
  const updated = work.events.at(-1)!;
  assert.deepEqual(updated.type === "room.updated" && updated.roles, { dave: "owner" });
  // No admin left: the longest-standing member takes over.
  run(work, { kind: "removeMember", userId: "dave", memberId: "bob" });
  assert.equal(run(work, { kind: "removeMember", userId: "dave", memberId: "dave" }).ownerId, "carol");
  assert.equal(run(work, { kind: "removeMember", userId: "carol", memberId: "carol" }).ownerId, undefined);
  assert.deepEqual([...work.state!.members.values()].filter(isActive), []);
});

Deno.test("applyCommand() updateRoom is for the owner and admins, and a no-op records nothing", () => {
  const work = team();
  refused(work, { kind: "updateRoom", userId: "carol", name: "Mine" }, 403);
  refused(work, { kind: "updateRoom", userId: "dave", name: "Mine" }, 404);
  assert.equal(run(work, { kind: "updateRoom", userId: "bob", name: "Renamed" }).changed, true);
  assert.equal(
    run(work, { kind: "updateRoom", userId: "alice", avatar: "https://x.test/a.png" }).changed,
    true,
  );
  assert.equal(run(work, { kind: "updateRoom", userId: "alice", name: "Renamed" }).changed, false);
  assert.equal(work.state!.name, "Renamed");
  assert.equal(work.state!.avatar, "https://x.test/a.png");
  assert.equal(work.events.filter((e) => e.type === "room.updated").length, 2);
});

Deno.test("applyCommand() setRole is for the owner; making someone owner hands ownership over", () => {
  const work = team();
  refused(work, { kind: "setRole", userId: "bob", memberId: "carol", role: "admin" }, 403);
  refused(work, { kind: "setRole", userId: "carol", memberId: "carol", role: "admin" }, 403);
  refused(work, { kind: "setRole", userId: "alice", memberId: "alice", role: "member" }, 400);
  refused(work, { kind: "setRole", userId: "alice", memberId: "dave", role: "admin" }, 404);
  assert.deepEqual(run(work, { kind: "setRole", userId: "alice", memberId: "carol", role: "admin" }).roles, {
    carol: "admin",
  });
  assert.deepEqual(run(work, { kind: "setRole", userId: "alice", memberId: "bob", role: "owner" }).roles, {
    bob: "owner",
    alice: "admin",
  });
  refused(work, { kind: "setRole", userId: "alice", memberId: "carol", role: "member" }, 403);
  const owners = [...work.state!.members].filter(([, m]) => m.role === "owner").map(([id]) => id);
  assert.deepEqual(owners, ["bob"]);
});

Deno.test("applyCommand() archive is per member and a new message un-archives", () => {
  const work = team();
  refused(work, { kind: "archive", userId: "dave", archived: true }, 404);
  run(work, { kind: "archive", userId: "carol", archived: true });
  assert.equal(work.state!.members.get("carol")!.archived, true);
  assert.equal(work.state!.members.get("bob")!.archived, false);
  run(work, { kind: "archive", userId: "carol", archived: true });
  assert.equal(work.events.filter((e) => e.type === "room.archived").length, 1);
  send(work, bob, "wake up");
  assert.equal(work.state!.members.get("carol")!.archived, false);
});

Deno.test("applyCommand() reactions: any toggles leave each emoji with the set of users who toggled it an odd number of times", () => {
  const toggle = fc.record({
    who: fc.constantFrom("alice", "bob", "carol"),
    emoji: fc.constantFrom("👍", "🎉", "❤️"),
  });
  fc.assert(
    fc.property(fc.array(toggle, { maxLength: 40 }), (toggles) => {
      const work = team();
      send(work, alice, "x");
      const model = new Map<string, Set<string>>();
      for (const { who, emoji } of toggles) {
        run(work, { kind: "react", userId: who, seq: 1, emoji });
        const users = model.get(emoji) ?? new Set();
        if (users.has(who)) users.delete(who);
        else users.add(who);
        if (users.size === 0) model.delete(emoji);
        else model.set(emoji, users);
      }
      const stored = work.facts.messages.get(1)!.reactions;
      assert.deepEqual(
        Object.fromEntries([...stored].map(([e, ids]) => [e, [...ids].sort()])),
        Object.fromEntries([...model].map(([e, ids]) => [e, [...ids].sort()])),
      );
      for (const ids of Object.values(stored)) assert.equal(new Set(ids).size, ids.length);
    }),
  );
});

Deno.test("applyCommand() reactions: toggling twice is the identity", () => {
  const toggle = fc.record({
    who: fc.constantFrom("alice", "bob", "carol"),
    emoji: fc.constantFrom("👍", "🎉"),
  });
  fc.assert(
    fc.property(fc.array(toggle, { maxLength: 20 }), toggle, (before, twice) => {
      const work = team();
      send(work, alice, "x");
      for (const t of before) run(work, { kind: "react", userId: t.who, seq: 1, emoji: t.emoji });
      const sets = (r: Map<string, string[]>) => new Map([...r].map(([e, ids]) => [e, [...ids].sort()]));
      const expected = sets(work.facts.messages.get(1)!.reactions);
      run(work, { kind: "react", userId: twice.who, seq: 1, emoji: twice.emoji });
      run(work, { kind: "react", userId: twice.who, seq: 1, emoji: twice.emoji });
      assert.deepEqual(sets(work.facts.messages.get(1)!.reactions), expected);
    }),
  );
});

type Op =
  | { kind: "add" | "remove" | "leave" | "send" | "read"; room: number; who: number }
  | { kind: "delete"; room: number; who: number; pick: number };

/** The obvious model: a member's unread messages are the visible ones after their read position. */
interface ModelRoom {
  messages: { seq: number; sender: string; deleted: boolean }[];
  members: Map<string, { active: boolean; readSeq: number }>;
}

function modelApply(room: ModelRoom, op: Op, owner: string): boolean {
  const user = people[op.who]!.id;
  const member = room.members.get(user);
  const lastSeq = room.messages.length;
  const active = member?.active === true;
  switch (op.kind) {
    case "add":
      if (member?.active) return true;
      room.members.set(user, { active: true, readSeq: lastSeq });
      return true;
    case "remove":
    case "leave":
      if (!active) return false;
      member!.active = false;
      return true;
    case "send":
      if (!active) return false;
      room.messages.push({ seq: lastSeq + 1, sender: user, deleted: false });
      member!.readSeq = lastSeq + 1;
      return true;
    case "read":
      if (!active) return false;
      member!.readSeq = lastSeq;
      return true;
    case "delete": {
      const target = room.messages[op.pick % Math.max(1, lastSeq)];
      if (!active || !target || (target.sender !== user && user !== owner)) return false;
      target.deleted = true;
      return true;
    }
  }
}

function modelUnread(room: ModelRoom, user: string): number {
  const member = room.members.get(user);
  if (!member?.active) return 0;
  return room.messages.filter((m) => m.seq > member.readSeq && !m.deleted).length;
}

Deno.test("applyCommand() membership changes keep unread counts and totals equal to a simple model", () => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constantFrom("add", "remove", "leave", "send", "send", "read") as fc.Arbitrary<
        "add" | "remove" | "leave" | "send" | "read"
      >,
      room: fc.integer({ min: 0, max: 1 }),
      who: fc.integer({ min: 1, max: 4 }),
    }),
    fc.record({
      kind: fc.constant("delete" as const),
      room: fc.integer({ min: 0, max: 1 }),
      who: fc.integer({ min: 0, max: 4 }),
      pick: fc.nat(),
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { maxLength: 25 }), (batches) => {
      const store = new Map<string, unknown>();
      const rows: Map<number, StoredMessage | null>[] = [new Map(), new Map()];
      const heads: LoadedHead[] = [];
      const models: ModelRoom[] = [];
      for (const r of [0, 1]) {
        const work = startBatch(`g${r}`, null, emptyFacts());
        run(
          work,
          { kind: "createGroup", creator: alice, name: `G${r}`, avatar: null, memberIds: ["bob"] },
          r,
        );
        applyMutations(store, buildRoomUnit({ state: null, versionstamp: null }, work, opts(r)).mutations);
        heads.push({ state: work.state, versionstamp: "v" });
        models.push({
          messages: [],
          members: new Map([["alice", { active: true, readSeq: 0 }], ["bob", { active: true, readSeq: 0 }]]),
        });
      }
      let now = 10;
      for (const batch of batches) {
        for (const r of new Set(batch.map((b) => b.room))) {
          const facts = {
            ...emptyFacts(),
            messages: new Map(rows[r]),
            recent: { floor: 1, noneBelow: true },
          };
          const work = startBatch(`g${r}`, heads[r]!.state, facts);
          for (const b of batch.filter((x) => x.room === r)) {
            const ok = modelApply(models[r]!, b, "alice");
            const applied = tryRun(work, toCommand(work.state!, b), now++);
            assert.equal(applied, ok, `${b.kind} by ${people[b.who]!.id} applies in both`);
          }
          applyMutations(store, buildRoomUnit(heads[r]!, work, opts(now)).mutations);
          for (const [seq, row] of work.changedMessages) rows[r]!.set(seq, row);
          heads[r] = { state: work.state, versionstamp: "v" };
        }
      }
      for (const person of people) {
        for (const r of [0, 1]) {
          assert.equal(unreadCount(heads[r]!.state!, person.id), modelUnread(models[r]!, person.id));
        }
        const total = Number((store.get(JSON.stringify(keys.unreadTotal(person.id))) as bigint) ?? 0n);
        assert.equal(total, modelUnread(models[0]!, person.id) + modelUnread(models[1]!, person.id));
        const listed = [...store.keys()].filter((k) => k.startsWith(`["user_rooms","${person.id}"`)).length;
        const active = heads.filter((h) => isActive(h.state!.members.get(person.id))).length;
        assert.equal(listed, active, `room-list entries of ${person.id}`);
      }
    }),
  );
});

function opts(now: number) {
  return { now, push: false, rateLogVersions: new Map() };
}

function toCommand(state: RoomState, op: Op): RoomCommand {
  const user = people[op.who]!;
  switch (op.kind) {
    case "add":
      return { kind: "addMembers", userId: "alice", memberIds: [user.id] };
    case "remove":
      return { kind: "removeMember", userId: "alice", memberId: user.id };
    case "leave":
      return { kind: "removeMember", userId: user.id, memberId: user.id };
    case "send":
      return { kind: "send", sender: user, input: { content: "m", type: "text" } };
    case "read":
      return { kind: "read", userId: user.id };
    case "delete":
      return {
        kind: "delete",
        userId: user.id,
        seq: state.lastSeq === 0 ? 1 : (op.pick % state.lastSeq) + 1,
      };
  }
}

/** Whether the command applied; a refused command must be a 4xx HttpError. */
function tryRun(work: Batch, cmd: RoomCommand, now: number): boolean {
  try {
    run(work, cmd, now);
    return true;
  } catch (err) {
    if (!(err instanceof HttpError) || err.status >= 500) throw err;
    return false;
  }
}
