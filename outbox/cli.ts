/**
 * @module `deno task outbox stats | dead | replay <id>|--all | purge | recount`: the
 * operator's view of the outbox, against the KV of `KV_PATH` (file or KV Connect URL).
 * Exit codes: 0 done, 1 failed, 2 bad usage.
 */
import { openKv } from "../storage/kv.ts";
import { listDead, outboxCounts, outboxStats, purgeDead, recountOutbox, replayDead } from "./operations.ts";

const USAGE = "usage: deno task outbox stats | dead | replay <id>|--all | purge | recount";

/** Runs one command; returns the exit code. Output goes through `print`. */
export async function runCli(
  args: string[],
  kv: Deno.Kv,
  print: (line: string) => void = console.log,
): Promise<number> {
  const [command, arg] = args;
  switch (command) {
    case "stats": {
      const s = await outboxStats(kv, { limit: 1_000_000 });
      const age = s.oldestPendingAgeMs === null ? "-" : `${Math.round(s.oldestPendingAgeMs / 1000)}s`;
      print(`pending=${s.pending} retrying=${s.retrying} dead=${s.dead} oldest=${age}`);
      for (const [sink, c] of Object.entries(s.bySink)) {
        print(`  ${sink}: pending=${c.pending} retrying=${c.retrying} dead=${c.dead}`);
      }
      const counted = await outboxCounts(kv);
      if (counted.pending !== s.pending || counted.retrying !== s.retrying || counted.dead !== s.dead) {
        print(
          `counters say pending=${counted.pending} retrying=${counted.retrying} dead=${counted.dead} ` +
            "(rows written while this ran, or a store older than the counters: `recount` with servers stopped)",
        );
      }
      return 0;
    }
    case "recount": {
      const s = await recountOutbox(kv);
      print(`counters set to pending=${s.pending} retrying=${s.retrying} dead=${s.dead}`);
      return 0;
    }
    case "dead": {
      const dead = await listDead(kv, { limit: 1000 });
      if (dead.length === 0) print("no dead batches");
      for (const d of dead) {
        print(
          `${d.id} events=${d.events} attempts=${d.attempts} dead_at=${new Date(d.deadAt).toISOString()} ` +
            `error=${JSON.stringify(d.lastError ?? "")}`,
        );
      }
      return 0;
    }
    case "replay": {
      if (!arg) {
        print(USAGE);
        return 2;
      }
      try {
        const n = await replayDead(kv, arg === "--all" ? { all: true } : { id: arg });
        print(`replayed ${n} batch(es); a running server delivers them (at the latest at its next sweep)`);
        return 0;
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        print(`error: ${err.message}`);
        return 1;
      }
    }
    case "purge": {
      print(`purged ${await purgeDead(kv)} dead batch(es)`);
      return 0;
    }
    default:
      print(USAGE);
      return 2;
  }
}

if (import.meta.main) {
  const path = Deno.env.get("KV_PATH") ?? (Deno.env.get("DENO_DEPLOYMENT_ID") ? undefined : "./data/chat.kv");
  let code = 1;
  try {
    using kv = await openKv(path);
    code = await runCli(Deno.args, kv);
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  }
  Deno.exit(code);
}
