import assert from "node:assert/strict";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import { EXIT_DEAD, runCli } from "./cli.ts";
import { formatAge } from "./cli_format.ts";
import { outboxBatchWrite, roomStream, userStream } from "./outbox.ts";
import { PermanentDeliveryError } from "./sink.ts";
import { OutboxWatcher } from "./watcher.ts";

/** Writes `n` pending realtime batches on `stream`, committed `ageMs` ago. */
async function pending(kv: Deno.Kv, stream: string, n: number, ageMs = 0): Promise<void> {
  const op = kv.atomic();
  for (let order = 1; order <= n; order++) {
    const event = { type: "room.archived" as const, roomId: "r", seq: order, userId: "u", archived: true };
    op.mutate(...outboxBatchWrite("realtime", { stream, order, now: Date.now() - ageMs }, [event]).mutations);
  }
  await op.commit();
}

/** Lets a watcher whose sink refuses every batch move the pending batches to the dead letters. */
async function killAll(kv: Deno.Kv, streams: string[]): Promise<void> {
  const sink = {
    deliver: () => Promise.resolve({ delivered: 0, error: new PermanentDeliveryError("HTTP 413 too big") }),
  };
  const watcher = new OutboxWatcher(kv, { sinks: { realtime: sink }, batcher: new CommitBatcher(kv) });
  for (const stream of streams) await watcher.drain("realtime", stream);
  await watcher.settled();
  await watcher.stop();
}

function capture() {
  const lines: string[] = [];
  return { lines, print: (line: string) => lines.push(line) };
}

Deno.test("outbox stats prints each sink's states and oldest age, exits 0 without dead letters", async () => {
  using kv = await Deno.openKv(":memory:");
  await pending(kv, roomStream("a"), 3, 65_000);
  const out = capture();
  assert.equal(await runCli(["stats"], kv, out.print), 0);
  assert.deepEqual(out.lines.map((l) => l.split(/\s+/)), [
    ["SINK", "PENDING", "RETRYING", "DEAD", "OLDEST"],
    ["realtime", "3", "0", "0", "1m", "5s"],
    ["push", "0", "0", "0", "-"],
    ["social", "0", "0", "0", "-"],
    ["total", "3", "0", "0", "1m", "5s"],
  ]);
});

Deno.test("outbox stats --json gives the API's figures per sink, and exit 3 once a batch is dead", async () => {
  using kv = await Deno.openKv(":memory:");
  await pending(kv, roomStream("a"), 2);
  await killAll(kv, [roomStream("a")]);
  await pending(kv, roomStream("b"), 1, 5_000);
  const out = capture();
  assert.equal(await runCli(["stats", "--json"], kv, out.print), EXIT_DEAD);
  const { outbox } = JSON.parse(out.lines[0]!);
  assert.deepEqual(outbox.realtime, {
    pending: 1,
    retrying: 0,
    dead: 2,
    oldestAgeMs: outbox.realtime.oldestAgeMs,
  });
  assert.ok(outbox.realtime.oldestAgeMs >= 5_000, "the age of the oldest batch still pending");
  assert.deepEqual(outbox.push, { pending: 0, retrying: 0, dead: 0, oldestAgeMs: null });
  assert.equal(await runCli(["purge"], kv, out.print), 0);
  assert.equal(await runCli(["stats", "--json"], kv, out.print), 0);
});

Deno.test("outbox dead shows sink, room, age and last error as a table, --json the same rows; exit 3", async () => {
  using kv = await Deno.openKv(":memory:");
  await pending(kv, roomStream("g_1"), 1, 3_600_000);
  await pending(kv, userStream("bob"), 1, 30_000);
  await killAll(kv, [roomStream("g_1"), userStream("bob")]);
  const out = capture();
  assert.equal(await runCli(["dead"], kv, out.print), EXIT_DEAD);
  assert.match(out.lines[0]!, /^ID\s+SINK\s+ROOM\s+AGE\s+ATTEMPTS\s+LAST ERROR$/);
  assert.match(out.lines[1]!, /^realtime:room:g_1:1\s+realtime\s+g_1\s+1h 0m\s+1\s+HTTP 413 too big$/);
  assert.match(out.lines[2]!, /^realtime:user:bob:1\s+realtime\s+user bob\s+30s\s+1\s+HTTP 413 too big$/);
  const json = capture();
  assert.equal(await runCli(["dead", "--json"], kv, json.print), EXIT_DEAD);
  const { deadLetters } = JSON.parse(json.lines[0]!);
  assert.deepEqual(
    deadLetters.map((d: { roomId: string | null; lastError: string }) => [d.roomId, d.lastError]),
    [
      ["g_1", "HTTP 413 too big"],
      [null, "HTTP 413 too big"],
    ],
  );
  assert.equal(await runCli(["replay", "--all"], kv, out.print), 0);
  const after = capture();
  assert.equal(await runCli(["dead"], kv, after.print), 0);
  assert.deepEqual(after.lines, ["no dead batches"]);
  const ages = await Array.fromAsync(kv.list<Deno.KvU64>({ prefix: keys.outboxAges("realtime") }));
  assert.deepEqual(ages.map((a) => a.value.value), [1n, 1n], "replayed batches count in their seconds again");
});

Deno.test("outbox stats --watch prints a fresh table each round until stopped", async () => {
  using kv = await Deno.openKv(":memory:");
  const out = capture();
  let clears = 0;
  const code = await runCli(["stats", "--watch"], kv, out.print, {
    rounds: 3,
    intervalMs: 1,
    clear: () => clears++,
  });
  assert.equal(code, 0);
  assert.equal(clears, 3);
  assert.equal(out.lines.filter((l) => l.startsWith("SINK")).length, 3);
  assert.equal(out.lines.filter((l) => /^\d{4}-\d\d-\d\dT/.test(l)).length, 3);
});

Deno.test("formatAge() reads as people say it", () => {
  assert.deepEqual([null, 850, 12_000, 200_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatAge), [
    "-",
    "850ms",
    "12s",
    "3m 20s",
    "2h 5m",
    "3d 4h",
  ]);
});

Deno.test("the outbox CLI, run as a cron would, exits 3 while dead letters exist", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/chat.kv`;
    {
      using kv = await Deno.openKv(path);
      await pending(kv, roomStream("g_1"), 1);
      await killAll(kv, [roomStream("g_1")]);
    }
    const run = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("./cli.ts", import.meta.url).pathname, ...args],
        env: { KV_PATH: path, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const stats = await run("stats", "--json");
    assert.equal(stats.code, EXIT_DEAD, new TextDecoder().decode(stats.stderr));
    assert.equal(JSON.parse(new TextDecoder().decode(stats.stdout)).outbox.realtime.dead, 1);
    assert.equal((await run("purge")).code, 0);
    assert.equal((await run("stats")).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
