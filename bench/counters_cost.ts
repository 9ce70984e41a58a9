/**
 * @module What the operator counters cost a send, measured A/B in one process
 * on one KV file: the same direct-send commits built by the real pure code
 * (`buildRoomUnit`, whose units carry the counters' sums and the outbox age
 * entry), committed with and without those mutations, in alternating blocks so
 * that the machine's load hits both alike. Serial commits and 8 units per
 * commit (as the batcher folds them, sums on one key merged).
 *
 * `deno run -A bench/counters_cost.ts [--rounds=10] [--block=200]`
 */
import { parseArgs } from "node:util";
import { emptyFacts, startBatch } from "../actors/commands/command.ts";
import { applyCommand } from "../actors/commands/registry.ts";
import { buildRoomUnit } from "../actors/room_writes.ts";
import { wakeQueueMessage } from "../outbox/wake.ts";
import { type CommitUnit, foldSums } from "../storage/commit_batcher.ts";
import type { RoomState } from "../storage/records.ts";
import { benchContent } from "./raw_kv.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "10" }, block: { type: "string", default: "200" } },
});
const ROUNDS = Number(values.rounds);
const BLOCK = Number(values.block);
const COUNTER_TAGS = new Set([
  "stats_msg",
  "stats_total",
  "stats_active",
  "stats_last_active",
  "stats_user_day",
  "outbox_age",
]);

/** A room's chain of send units, and the head versionstamp the next one checks. */
interface Chain {
  units: CommitUnit[];
  next: number;
  versionstamp: string | null;
}

function withoutCounters(unit: CommitUnit): CommitUnit {
  return {
    ...unit,
    checks: unit.checks.filter((c) => !COUNTER_TAGS.has(String(c.key[0]))),
    mutations: unit.mutations.filter((m) => !COUNTER_TAGS.has(String(m.key[0]))),
  };
}

async function chainOf(kv: Deno.Kv, roomId: string, count: number, strip: boolean): Promise<Chain> {
  const now = Date.now();
  const alice = { id: `a-${roomId}`, name: "Alice", avatar: null };
  const create = startBatch(roomId, null, emptyFacts());
  applyCommand(create, {
    kind: "openDirect",
    user: alice,
    peer: { id: `b-${roomId}`, name: "Bob", avatar: null },
  }, {
    now,
    sendLimit: 0,
  });
  const first = buildRoomUnit({ state: null, versionstamp: null }, create, {
    now,
    push: false,
    rateLogVersions: new Map(),
  });
  const created = await kv.atomic().check(...first.checks).mutate(...first.mutations).commit();
  if (!created.ok) throw new Error("room not created");
  const units: CommitUnit[] = [];
  let state: RoomState = create.state!;
  for (let i = 0; i < count; i++) {
    const work = startBatch(roomId, state, emptyFacts());
    applyCommand(work, { kind: "send", sender: alice, input: { content: benchContent(i), type: "text" } }, {
      now,
      sendLimit: 0,
    });
    const unit = buildRoomUnit({ state, versionstamp: null }, work, {
      now,
      push: false,
      rateLogVersions: new Map(),
    });
    units.push(strip ? withoutCounters(unit) : unit);
    state = work.state!;
  }
  return { units, next: 0, versionstamp: created.versionstamp };
}

/** Commits `per` chains' next units together, `commits` times; returns commits per second. */
async function run(kv: Deno.Kv, chains: Chain[], per: number, commits: number): Promise<number> {
  const start = performance.now();
  for (let n = 0, cursor = 0; n < commits; n++) {
    const picked = Array.from({ length: per }, () => chains[(cursor++) % chains.length]!);
    const op = kv.atomic();
    for (const c of picked) {
      const [head, ...rest] = c.units[c.next]!.checks;
      op.check({ key: head!.key, versionstamp: c.versionstamp }, ...rest);
    }
    op.mutate(...foldSums(picked.flatMap((c) => c.units[c.next]!.mutations)));
    const wake = wakeQueueMessage(picked.flatMap((c) => c.units[c.next]!.wake ?? []), { delayMs: 60_000 });
    op.enqueue(wake.value, wake.options);
    const result = await op.commit();
    if (!result.ok) throw new Error("a check failed");
    for (const c of picked) {
      c.next++;
      c.versionstamp = result.versionstamp;
    }
  }
  return commits / ((performance.now() - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await Deno.makeTempDir({ prefix: "durable-chat-counters-" });
try {
  using kv = await Deno.openKv(`${dir}/bench.kv`);
  const sample = (await chainOf(kv, "shape", 1, false)).units[0]!;
  const stripped = withoutCounters(sample);
  console.log(
    `direct send: ${sample.mutations.length} mutations with the counters, ${stripped.mutations.length} without ` +
      `(${
        sample.mutations.filter((m) => COUNTER_TAGS.has(String(m.key[0]))).map((m) =>
          `${m.type} ${String(m.key[0])}`
        ).join(", ")
      })`,
  );
  for (const per of [1, 8]) {
    const need = ROUNDS * BLOCK * per;
    const rooms = per * 4;
    const a = await Promise.all(
      Array.from(
        { length: rooms },
        (_, i) => chainOf(kv, `with-${per}-${i}`, Math.ceil(need / rooms), false),
      ),
    );
    const b = await Promise.all(
      Array.from(
        { length: rooms },
        (_, i) => chainOf(kv, `without-${per}-${i}`, Math.ceil(need / rooms), true),
      ),
    );
    const withRates: number[] = [];
    const withoutRates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first, so that a load change hits both alike.
      if (r % 2 === 0) {
        withRates.push(await run(kv, a, per, BLOCK));
        withoutRates.push(await run(kv, b, per, BLOCK));
      } else {
        withoutRates.push(await run(kv, b, per, BLOCK));
        withRates.push(await run(kv, a, per, BLOCK));
      }
    }
    const w = median(withRates) * per;
    const wo = median(withoutRates) * per;
    console.log(
      `${per} send(s) per commit: ${wo.toFixed(0)} sends/s without counters, ${w.toFixed(0)} with ` +
        `(median of ${ROUNDS} alternating blocks of ${BLOCK} commits): ${((w / wo - 1) * 100).toFixed(1)} %`,
    );
  }
  console.log(`load average at the end: ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
