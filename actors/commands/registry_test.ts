import assert from "node:assert/strict";
import type { Profile } from "../../storage/records.ts";
import { type Batch, emptyFacts, startBatch } from "./command.ts";
import { applyCommand, COMMAND_KINDS, declared, type RoomCommand } from "./registry.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const people: Profile[] = ["alice", "bob", "carol"].map((id) => ({ id, name: id, avatar: null }));
const [alice, bob, carol] = people as [Profile, Profile, Profile];

/** One command of every kind that does something, per room, in an order where each one applies. */
const DIRECT: RoomCommand[] = [{ kind: "openDirect", user: alice, peer: bob }];
const GROUP: RoomCommand[] = [
  { kind: "createGroup", creator: alice, name: "Team", avatar: null, memberIds: ["bob"] },
  { kind: "send", sender: alice, input: { content: "one", type: "text", clientMessageId: "c1" } },
  { kind: "send", sender: bob, input: { content: "two", type: "text" } },
  { kind: "read", userId: alice.id },
  { kind: "edit", userId: alice.id, seq: 1, content: "uno" },
  { kind: "react", userId: bob.id, seq: 1, emoji: "👍" },
  { kind: "addMembers", userId: alice.id, memberIds: [carol.id] },
  { kind: "setRole", userId: alice.id, memberId: bob.id, role: "admin" },
  { kind: "updateRoom", userId: bob.id, name: "Crew" },
  { kind: "archive", userId: carol.id, archived: true },
  {
    kind: "createUpload",
    userId: carol.id,
    upload: {
      id: "up_1",
      roomId: "g1",
      ownerId: carol.id,
      name: "a.txt",
      contentType: "text/plain",
      size: 5,
      store: "kv",
      createdAt: NOW,
      sweepAt: NOW + 1,
    },
  },
  { kind: "delete", userId: bob.id, seq: 2 },
  { kind: "removeMember", userId: alice.id, memberId: alice.id },
];

function batch(roomId: string): Batch {
  const facts = emptyFacts();
  facts.recent = { floor: 1, noneBelow: true };
  return startBatch(roomId, null, facts);
}

Deno.test("every command kind pushes only the events its entry declares, and reads only declared facts", () => {
  assert.deepEqual(new Set([...DIRECT, ...GROUP].map((c) => c.kind)), new Set(COMMAND_KINDS));
  for (const [roomId, commands] of [["dm_ab", DIRECT], ["g1", GROUP]] as const) {
    const work = batch(roomId);
    for (const cmd of commands) {
      const before = work.events.length;
      // Only the declared facts are there to be read: an undeclared one would throw here.
      const guarded = { ...work, facts: onlyFacts(work, declared(cmd.kind).facts) };
      applyCommand(guarded, cmd, { now: NOW, sendLimit: 10, writeLimit: 10 });
      work.state = guarded.state;
      const types = work.events.slice(before).map((e) => e.type);
      const silent = declared(cmd.kind).emits.length === 0; // writes rows only (createUpload)
      assert.ok(silent || types.length > 0, `${cmd.kind} emitted nothing in the scenario`);
      for (const type of types) {
        assert.ok(declared(cmd.kind).emits.includes(type), `${cmd.kind} emitted undeclared ${type}`);
      }
    }
  }
});

/** The batch's facts with only `kinds` readable; reading another throws. */
function onlyFacts(work: Batch, kinds: readonly string[]): Batch["facts"] {
  return new Proxy(work.facts, {
    get(target, name, receiver) {
      if (typeof name === "string" && !kinds.includes(name)) {
        throw new TypeError(`read the undeclared fact ${name}`);
      }
      return Reflect.get(target, name, receiver);
    },
  });
}

/** Runs `deno check` on a command entry written to a temporary file. */
async function check(entry: string): Promise<{ ok: boolean; output: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/entry.ts`;
    const command = new URL("./command.ts", import.meta.url).href;
    await Deno.writeTextFile(
      file,
      `import { defineCommand } from "${command}";\n` +
        `interface Cmd { kind: "x"; userId: string }\n` +
        `export const x = defineCommand(${entry});\n`,
    );
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", config, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { ok: out.success, output: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const ENTRY = (facts: string, body: string) =>
  `{
  facts: ${facts},
  emits: ["room.archived"],
  actor: (cmd: Cmd) => cmd.userId,
  needs: (_cmd: Cmd) => ({}),
  apply(work, cmd: Cmd) { ${body} return cmd.userId; },
}`;

Deno.test("a command entry that reads an undeclared fact or pushes an undeclared event fails deno check", async () => {
  const declaredFact = await check(ENTRY(`["messages"]`, "work.facts.messages.get(1);"));
  assert.ok(declaredFact.ok, declaredFact.output);
  const undeclaredFact = await check(ENTRY(`["messages"]`, "work.facts.blocks.get('a');"));
  assert.equal(undeclaredFact.ok, false);
  assert.match(undeclaredFact.output, /blocks/);
  const undeclaredEvent = await check(
    ENTRY(`[]`, `work.events.push({ type: "room.created", roomId: "r", memberIds: [] });`),
  );
  assert.equal(undeclaredEvent.ok, false);
  assert.match(undeclaredEvent.output, /room\.created|not assignable/);
});
