import assert from "node:assert/strict";
import { applyMutations } from "../test/support/kv_model.ts";
import fc from "fast-check";
import { keys } from "../storage/keys.ts";
import type { Profile } from "../storage/records.ts";
import { unreadCount } from "./room_head.ts";
import { emptyFacts, startBatch } from "./commands/command.ts";
import { applyCommand } from "./commands/registry.ts";
import { buildRoomUnit, type LoadedHead } from "./room_writes.ts";

const people: Profile[] = ["alice", "bob", "carol", "dave"].map((id) => ({ id, name: id, avatar: null }));

Deno.test("buildRoomUnit() checks the head at the versionstamp it was read at", () => {
  const work = startBatch("g1", null, emptyFacts());
  applyCommand(work, {
    kind: "createGroup",
    creator: people[0]!,
    name: "G",
    avatar: null,
    memberIds: ["bob"],
  }, {
    now: 1,
    sendLimit: 0,
  });
  const unit = buildRoomUnit({ state: null, versionstamp: null }, work, {
    now: 1,
    push: false,
    rateLogVersions: new Map(),
  });
  assert.deepEqual(unit.checks[0], { key: keys.room("g1"), versionstamp: null });
  assert.ok(
    unit.mutations.some((m) => m.type === "set" && JSON.stringify(m.key) === JSON.stringify(keys.room("g1"))),
  );
  assert.equal(work.state!.outboxSeq, 1);
});

Deno.test("buildRoomUnit() keeps unread totals equal to the sum of per-room counts over any batches", () => {
  const op = fc.record({
    room: fc.integer({ min: 0, max: 2 }),
    who: fc.integer({ min: 0, max: 3 }),
    read: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 5 }), { maxLength: 25 }), (batches) => {
      const store = new Map<string, unknown>();
      const heads: LoadedHead[] = [0, 1, 2].map(() => ({ state: null, versionstamp: null }));
      // Room r holds people r..r+2, so rooms overlap in members.
      const create = (r: number) => {
        const work = startBatch(`g${r}`, null, emptyFacts());
        applyCommand(work, {
          kind: "createGroup",
          creator: people[r]!,
          name: `G${r}`,
          avatar: null,
          memberIds: people.slice(r + 1, r + 3).map((p) => p.id),
        }, { now: r, sendLimit: 0 });
        applyMutations(
          store,
          buildRoomUnit(heads[r]!, work, { now: r, push: false, rateLogVersions: new Map() }).mutations,
        );
        heads[r] = { state: work.state, versionstamp: "v" };
      };
      [0, 1, 2].forEach(create);
      let now = 10;
      for (const batch of batches) {
        for (const r of new Set(batch.map((b) => b.room))) {
          const work = startBatch(`g${r}`, heads[r]!.state, emptyFacts());
          for (const b of batch.filter((x) => x.room === r)) {
            const user = people[b.who]!;
            try {
              applyCommand(
                work,
                b.read
                  ? { kind: "read", userId: user.id }
                  : { kind: "send", sender: user, input: { content: "x", type: "text" } },
                { now: now++, sendLimit: 0 },
              );
            } catch { /* non-members are refused; the batch goes on */ }
          }
          applyMutations(
            store,
            buildRoomUnit(heads[r]!, work, { now, push: false, rateLogVersions: new Map() }).mutations,
          );
          heads[r] = { state: work.state, versionstamp: "v" };
        }
      }
      for (const person of people) {
        const stored = Number(
          (store.get(JSON.stringify(keys.unreadTotal(person.id))) as bigint | undefined) ?? 0n,
        );
        const expected = heads.reduce((sum, h) => sum + unreadCount(h.state!, person.id), 0);
        assert.equal(stored, expected, `total of ${person.id}`);
        // Exactly one room-list entry per active room, under the room's current sort key.
        const entries = [...store.keys()].filter((k) =>
          k.startsWith(JSON.stringify(["user_rooms", person.id]).slice(0, -1))
        );
        const expectedEntries = heads.filter((h) => h.state!.members.get(person.id)).map((h) =>
          JSON.stringify(keys.userRoom(person.id, false, h.state!.lastActivityAt, h.state!.id))
        );
        assert.deepEqual(entries.sort(), expectedEntries.sort());
      }
    }),
  );
});
