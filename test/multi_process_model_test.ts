/**
 * Model check across processes: random sequences of send / read / edit /
 * delete / react / add / remove / leave, each through one of three runtimes
 * on one KV file, must answer and leave behind exactly what a sequential model
 * of the same commands says: statuses, messages, seqs, reactions, unread
 * counts, totalUnread and memberships.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { directRoomId } from "../storage/ids.ts";
import { expectStatus } from "./helpers.ts";
import { type ModelRoom, RoomModel } from "./support/room_model.ts";
import { type RuntimeHandle, startRuntimes } from "./support/two_runtimes.ts";

const USERS = ["u0", "u1", "u2", "u3", "u4"];
/** Room 0 is the group owned by u0; rooms 1–3 are direct rooms of these pairs. */
const PAIRS: [number, number][] = [[0, 1], [1, 2], [3, 4]];
const OPS = ["send", "send", "read", "edit", "delete", "react", "add", "remove", "leave"] as const;

type Step = {
  op: typeof OPS[number];
  actor: number;
  room: number;
  target: number;
  pick: number;
  emoji: string;
  runtime: number;
};

// Weighted towards the group and its owner, where membership changes make stale heads matter.
const step: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom(...OPS),
  actor: fc.constantFrom(0, 0, 1, 2, 3, 4),
  room: fc.constantFrom(0, 0, 0, 1, 2, 3),
  target: fc.nat(USERS.length - 1),
  pick: fc.nat(1000),
  emoji: fc.constantFrom("👍", "🎉"),
  runtime: fc.nat(2),
});

type Message = {
  seq: number;
  content: string;
  senderId: string;
  isEdited: boolean;
  reactions: { emoji: string; userIds: string[] }[];
};
type Room = { id: string; unreadCount: number; participants: { id: string; role: string }[] };

Deno.test("three runtimes on one KV file answer every command as a sequential model does", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: 60 }), async (steps) => {
      await using group = await startRuntimes(3);
      const runtimes = group.runtimes;
      for (const user of USERS) await runtimes[0]!.api(user, "GET", "/api/me");
      const model = new RoomModel();
      const { roomId: groupId } = await expectStatus<{ roomId: string }>(
        await runtimes[0]!.api("u0", "POST", "/api/chat/groups", { name: "G", memberIds: ["u1", "u2"] }),
        200,
      );
      model.createGroup(groupId, "u0", ["u1", "u2"]);
      const roomIds = [groupId, ...PAIRS.map(([a, b]) => directRoomId(USERS[a]!, USERS[b]!))];

      for (const [i, s] of steps.entries()) {
        const actor = USERS[s.actor]!;
        const roomId = roomIds[s.room]!;
        const rt = runtimes[s.runtime]!;
        const messages = model.rooms.get(roomId)?.messages ?? [];
        const seq = messages.length > 0 ? (s.pick % messages.length) + 1 : undefined;
        const isGroup = s.room === 0;
        let request: [string, string, unknown?] | undefined;
        let expected: number | undefined;
        switch (s.op) {
          case "send": {
            const pair = PAIRS[s.room - 1];
            const peer = pair && [USERS[pair[0]]!, USERS[pair[1]]!].find((u) => u !== actor);
            const inPair = pair !== undefined && pair.map((p) => USERS[p]).includes(actor);
            const content = `m${i}`;
            request = [
              "POST",
              "/api/chat/send",
              inPair ? { receiverId: peer, content } : { roomId, content },
            ];
            expected = model.send(roomId, actor, content, inPair ? { peerId: peer! } : undefined);
            break;
          }
          case "read":
            request = ["POST", "/api/chat/read", { roomId }];
            expected = model.read(roomId, actor);
            break;
          case "edit":
            if (seq === undefined) break;
            request = ["PATCH", `/api/chat/messages/${roomId}:${seq}`, { content: `e${i}` }];
            expected = model.edit(roomId, actor, seq, `e${i}`);
            break;
          case "delete":
            if (seq === undefined) break;
            request = ["DELETE", `/api/chat/messages/${roomId}:${seq}`];
            expected = model.delete(roomId, actor, seq);
            break;
          case "react":
            if (seq === undefined) break;
            request = ["POST", `/api/chat/messages/${roomId}:${seq}/reactions`, { emoji: s.emoji }];
            expected = model.react(roomId, actor, seq, s.emoji);
            break;
          case "add":
            if (!isGroup) break;
            request = ["POST", `/api/chat/rooms/${groupId}/members`, { userIds: [USERS[s.target]] }];
            expected = model.add(groupId, actor, USERS[s.target]!);
            break;
          case "remove":
          case "leave": {
            const target = s.op === "leave" ? actor : USERS[s.target]!;
            if (!isGroup || target === "u0") break;
            request = ["DELETE", `/api/chat/rooms/${groupId}/members/${target}`];
            expected = model.remove(groupId, actor, target);
            break;
          }
        }
        if (!request) continue;
        const res = await rt.api(actor, ...request);
        const body = await res.text();
        assert.equal(
          res.status,
          expected,
          `step ${i} ${JSON.stringify(s)} through runtime ${s.runtime}: ${body}`,
        );
      }
      await verify(model, runtimes, steps.length);
    }),
    { seed: 20261201, numRuns: 25 },
  );
});

/** Compares every room's messages and every user's room list with the model, through varying runtimes. */
async function verify(model: RoomModel, runtimes: RuntimeHandle[], salt: number): Promise<void> {
  let n = salt;
  const next = () => runtimes[n++ % runtimes.length]!;
  for (const room of model.rooms.values()) {
    const reader = [...room.members].find(([, m]) => m.active)?.[0];
    if (!reader) continue;
    const page = await expectStatus<{ messages: Message[] }>(
      await next().api(reader, "GET", `/api/chat/messages?roomId=${room.id}&afterSeq=0&limit=100`),
      200,
    );
    assert.deepEqual(page.messages.map(viewOf), expectedMessages(room), `messages of ${room.id}`);
  }
  for (const user of USERS) {
    const list = await expectStatus<{ rooms: Room[]; totalUnread: number }>(
      await next().api(user, "GET", "/api/chat/rooms?limit=100"),
      200,
    );
    const active = model.activeRooms(user);
    assert.deepEqual(list.rooms.map((r) => r.id).sort(), active.map((r) => r.id).sort(), `rooms of ${user}`);
    for (const room of active) {
      const shown = list.rooms.find((r) => r.id === room.id)!;
      assert.equal(shown.unreadCount, model.unread(room, user), `${user}'s unread in ${room.id}`);
      const members = [...room.members].filter(([, m]) => m.active).map(([id, m]) => [id, m.role]);
      assert.deepEqual(
        shown.participants.map((p) => [p.id, p.role]).sort(),
        members.sort(),
        `members of ${room.id}`,
      );
    }
    const total = active.reduce((sum, room) => sum + model.unread(room, user), 0);
    assert.equal(list.totalUnread, total, `${user}'s totalUnread`);
  }
}

function viewOf(m: Message) {
  return {
    seq: m.seq,
    senderId: m.senderId,
    content: m.content,
    edited: m.isEdited,
    reactions: m.reactions.map((r) => [r.emoji, r.userIds]),
  };
}

function expectedMessages(room: ModelRoom) {
  return room.messages.filter((m) => !m.deleted).map((m) => ({
    seq: m.seq,
    senderId: m.senderId,
    content: m.content,
    edited: m.edited,
    reactions: [...m.reactions],
  }));
}
