/**
 * @module `deno task outbox stats [--json] [--watch] | dead [--json] | replay <id>|--all | purge | recount`:
 * the operator's view of the outbox, against the KV of `KV_PATH` (file or KV Connect URL).
 * Exit codes: 0 done, 1 failed, 2 bad usage, 3 (`stats`, `dead`) dead letters exist — for a cron to alert on.
 */
import { openKv } from "../storage/kv.ts";
import { backlogTable, deadTable } from "./cli_format.ts";
import { deadLetters } from "./dead_letters.ts";
import { outboxBacklog, purgeDead, recountOutbox, replayDead } from "./operations.ts";

const USAGE =
  "usage: deno task outbox stats [--json] [--watch] | dead [--json] | replay <id>|--all | purge | recount";

/** The exit code of `stats` and `dead` while dead letters exist. */
export const EXIT_DEAD = 3;

/** How `--watch` repeats (tests bound it); by default every 2 s until interrupted. */
export interface WatchOptions {
  intervalMs?: number;
  /** Stop after this many rounds. */
  rounds?: number;
  /** Clears the screen before each round (a terminal). */
  clear?: () => void;
}

/** Runs one command; returns the exit code. Output goes through `print`. */
export async function runCli(
  args: string[],
  kv: Deno.Kv,
  print: (line: string) => void = console.log,
  watch: WatchOptions = {},
): Promise<number> {
  const [command, ...rest] = args;
  const flags = new Set(rest.filter((a) => a.startsWith("--")));
  const json = flags.has("--json");
  switch (command) {
    case "stats": {
      if (!flags.has("--watch")) return await printStats(kv, print, json);
      let code = 0;
      for (let round = 0; round < (watch.rounds ?? Infinity); round++) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, watch.intervalMs ?? 2000));
        watch.clear?.();
        if (!json) print(new Date().toISOString());
        code = await printStats(kv, print, json);
      }
      return code;
    }
    case "recount": {
      const s = await recountOutbox(kv);
      print(`counters set to pending=${s.pending} retrying=${s.retrying} dead=${s.dead}`);
      return 0;
    }
    case "dead": {
      const dead = await deadLetters(kv, { limit: 1000 });
      if (json) print(JSON.stringify({ deadLetters: dead }));
      else if (dead.length === 0) print("no dead batches");
      else deadTable(dead).forEach((line) => print(line));
      return dead.length > 0 ? EXIT_DEAD : 0;
    }
    case "replay": {
      const target = rest[0];
      if (!target) {
        print(USAGE);
        return 2;
      }
      try {
        const n = await replayDead(kv, target === "--all" ? { all: true } : { id: target });
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

/** The backlog per sink and state with each sink's oldest age: counters and one short list per sink. */
async function printStats(kv: Deno.Kv, print: (line: string) => void, json: boolean): Promise<number> {
  const backlog = await outboxBacklog(kv);
  if (json) print(JSON.stringify({ outbox: backlog }));
  else backlogTable(backlog).forEach((line) => print(line));
  return Object.values(backlog).some((b) => b.dead > 0) ? EXIT_DEAD : 0;
}

if (import.meta.main) {
  const path = Deno.env.get("KV_PATH") ?? (Deno.env.get("DENO_DEPLOYMENT_ID") ? undefined : "./data/chat.kv");
  let code = 1;
  try {
    using kv = await openKv(path);
    const clear = Deno.stdout.isTerminal() ? () => console.log("\x1b[2J\x1b[H") : undefined;
    code = await runCli(Deno.args, kv, console.log, { clear });
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  }
  Deno.exit(code);
}
