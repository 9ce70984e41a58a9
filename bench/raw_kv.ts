/**
 * @module The raw Deno KV ceiling: `kv.atomic()` commits carrying exactly the
 * checks, mutations and queue message that one send commits, built by the real
 * pure code (`startBatch` → `applyCommand` → `buildRoomUnit`) ahead of time, so
 * the timed loop does nothing but commit.
 */
import { emptyFacts, startBatch } from "../actors/commands/command.ts";
import { applyCommand } from "../actors/commands/registry.ts";
import { buildRoomUnit } from "../actors/room_writes.ts";
import { wakeQueueMessage } from "../outbox/wake.ts";
import type { CommitUnit } from "../storage/commit_batcher.ts";
import type { Profile, RoomState } from "../storage/records.ts";
import { type LatencySummary, round, summarize } from "./stats.ts";

/** One measured way of committing. */
export interface RawRun {
  /** Commits issued at once. */
  concurrency: number;
  /** Send-shaped units per commit (1 unless measuring folding). */
  unitsPerCommit: number;
  commits: number;
  commitsPerSec: number;
  /** Sends' worth of writes per second (commitsPerSec × unitsPerCommit). */
  sendsPerSec: number;
  latencyMs: LatencySummary;
  failedChecks: number;
  seconds: number;
}

/** The shape of one send's commit, as counted from the real unit. */
export interface UnitShape {
  checks: number;
  mutations: Record<string, number>;
  totalMutations: number;
  enqueues: number;
  bytesEstimate: number;
}

/** The raw ceiling of one kind of send. */
export interface RawCeiling {
  shape: UnitShape;
  serial: RawRun;
  concurrent?: RawRun;
  grouped?: RawRun;
}

interface Chain {
  units: CommitUnit[];
  next: number;
  versionstamp: string | null;
}

/** The content every bench message carries (about as long as the HTTP bench's). */
export function benchContent(i: number): string {
  return `bench message ${i} ${"lorem ipsum ".repeat(2)}`;
}

function profile(id: string): Profile {
  return { id, name: `User ${id}`, avatar: null };
}

/** Builds `count` consecutive send units of one room, starting from `state`. */
function sendChain(
  roomId: string,
  state: RoomState,
  senders: () => Profile,
  count: number,
  now: () => number,
): CommitUnit[] {
  const units: CommitUnit[] = [];
  let current = state;
  for (let i = 0; i < count; i++) {
    const work = startBatch(roomId, current, emptyFacts());
    const t = now();
    applyCommand(
      work,
      { kind: "send", sender: senders(), input: { content: benchContent(i), type: "text" } },
      {
        now: t,
        sendLimit: 0,
      },
    );
    units.push(buildRoomUnit({ state: current, versionstamp: null }, work, {
      now: t,
      push: false,
      rateLogVersions: new Map(),
    }));
    current = work.state!;
  }
  return units;
}

/** Creates a room with the real code and commits it; returns its head and versionstamp. */
async function createRoom(
  kv: Deno.Kv,
  roomId: string,
  cmd: Parameters<typeof applyCommand>[1],
  now: number,
): Promise<{ state: RoomState; versionstamp: string }> {
  const work = startBatch(roomId, null, emptyFacts());
  applyCommand(work, cmd, { now, sendLimit: 0 });
  const unit = buildRoomUnit({ state: null, versionstamp: null }, work, {
    now,
    push: false,
    rateLogVersions: new Map(),
  });
  const result = await commitUnits(kv, [unit], [null]);
  if (!result.ok) throw new Error(`could not create bench room ${roomId}`);
  return { state: work.state!, versionstamp: result.versionstamp };
}

/** Commits units as the batcher does: all checks, all mutations, one queue message. */
function commitUnits(
  kv: Deno.Kv,
  units: CommitUnit[],
  versionstamps: (string | null)[],
): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
  const op = kv.atomic();
  const wake: unknown[] = [];
  units.forEach((unit, i) => {
    const [head, ...rest] = unit.checks;
    op.check({ key: head!.key, versionstamp: versionstamps[i]! }, ...rest);
    op.mutate(...unit.mutations);
    if (unit.wake) wake.push(...unit.wake);
  });
  if (wake.length > 0) {
    const message = wakeQueueMessage(wake, { delayMs: 1000 });
    op.enqueue(message.value, message.options);
  }
  return op.commit();
}

/** Counts what one unit writes. */
export function shapeOf(unit: CommitUnit): UnitShape {
  const mutations: Record<string, number> = {};
  for (const m of unit.mutations) {
    const name = `${m.type} ${String(m.key[0])}`;
    mutations[name] = (mutations[name] ?? 0) + 1;
  }
  return {
    checks: unit.checks.length,
    mutations,
    totalMutations: unit.mutations.length,
    enqueues: unit.wake && unit.wake.length > 0 ? 1 : 0,
    bytesEstimate: unit.bytes,
  };
}

/**
 * Runs `workers` loops, each owning the chains `i ≡ worker (mod workers)` and
 * committing `unitsPerCommit` of them per commit, until `total` commits or `maxMs`.
 */
async function runChains(
  kv: Deno.Kv,
  chains: Chain[],
  options: { workers: number; unitsPerCommit: number; total: number; maxMs: number },
): Promise<RawRun> {
  const latencies: number[] = [];
  let failedChecks = 0;
  let issued = 0;
  const start = performance.now();
  const deadline = start + options.maxMs;
  const worker = async (w: number) => {
    const mine = chains.filter((_, i) => i % options.workers === w);
    let cursor = 0;
    while (issued < options.total && performance.now() < deadline) {
      issued++;
      const picked: Chain[] = [];
      for (let k = 0; k < options.unitsPerCommit; k++) {
        const chain = mine[(cursor++) % mine.length]!;
        if (chain.next >= chain.units.length) return;
        picked.push(chain);
      }
      const t0 = performance.now();
      const result = await commitUnits(
        kv,
        picked.map((c) => c.units[c.next]!),
        picked.map((c) => c.versionstamp),
      );
      latencies.push(performance.now() - t0);
      if (!result.ok) {
        failedChecks++;
        continue;
      }
      for (const c of picked) {
        c.next++;
        c.versionstamp = result.versionstamp;
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  const seconds = (performance.now() - start) / 1000;
  const commits = latencies.length - failedChecks;
  return {
    concurrency: options.workers,
    unitsPerCommit: options.unitsPerCommit,
    commits,
    commitsPerSec: round(commits / seconds, 1),
    sendsPerSec: round((commits * options.unitsPerCommit) / seconds, 1),
    latencyMs: summarize(latencies),
    failedChecks,
    seconds: round(seconds, 2),
  };
}

/** How much to measure. */
export interface RawOptions {
  /** Commits per serial run. */
  serialCommits: number;
  /** Commits per 64-concurrent run. */
  concurrentCommits: number;
  /** Upper bound of each run, in milliseconds. */
  maxMs: number;
  /** Direct rooms the commits spread over. */
  rooms?: number;
  /** Commits issued at once in the concurrent run. */
  concurrency?: number;
}

/**
 * The ceiling for direct sends: each commit is one send from the room's first
 * member to the second in an existing direct room (as the HTTP send bench does).
 */
export async function directCeiling(kvPath: string, options: RawOptions): Promise<RawCeiling> {
  const kv = await Deno.openKv(kvPath);
  try {
    const rooms = options.rooms ?? 500;
    const concurrency = options.concurrency ?? 64;
    let clock = Date.now();
    const now = () => ++clock;
    const perRoomSerial = Math.ceil(options.serialCommits / rooms) + 1;
    const perRoomConcurrent = Math.ceil(options.concurrentCommits / rooms) + 1;
    const grouped = 8;
    const perRoomGrouped = Math.ceil((options.serialCommits * grouped) / rooms) + 1;
    const chainsFor = async (tag: string, perRoom: number): Promise<Chain[]> => {
      const out: Chain[] = [];
      for (let r = 0; r < rooms; r++) {
        const a = profile(`${tag}a${r}`);
        const b = profile(`${tag}b${r}`);
        const roomId = `raw_${tag}_${r}`;
        const created = await createRoom(kv, roomId, {
          kind: "send",
          sender: a,
          peer: b,
          input: { content: benchContent(0), type: "text" },
        }, now());
        out.push({
          units: sendChain(roomId, created.state, () => a, perRoom, now),
          next: 0,
          versionstamp: created.versionstamp,
        });
      }
      return out;
    };
    const serialChains = await chainsFor("s", perRoomSerial);
    const shape = shapeOf(serialChains[0]!.units[0]!);
    const serial = await runChains(kv, serialChains, {
      workers: 1,
      unitsPerCommit: 1,
      total: options.serialCommits,
      maxMs: options.maxMs,
    });
    const concurrent = await runChains(kv, await chainsFor("c", perRoomConcurrent), {
      workers: concurrency,
      unitsPerCommit: 1,
      total: options.concurrentCommits,
      maxMs: options.maxMs,
    });
    const groupedRun = await runChains(kv, await chainsFor("g", perRoomGrouped), {
      workers: 1,
      unitsPerCommit: grouped,
      total: options.serialCommits,
      maxMs: options.maxMs,
    });
    return { shape, serial, concurrent, grouped: groupedRun };
  } finally {
    kv.close();
  }
}

/**
 * The ceiling for one hot group: serial commits of one send each by a random
 * member of a `members`-member group (every other member's list entry moves and
 * unread total grows), one commit at a time, as a room without group commit must.
 */
export async function groupCeiling(
  kvPath: string,
  options: { commits: number; maxMs: number; members?: number },
): Promise<RawCeiling> {
  const kv = await Deno.openKv(kvPath);
  try {
    const memberCount = options.members ?? 50;
    const members = Array.from({ length: memberCount }, (_, i) => profile(`hot${i}`));
    let clock = Date.now();
    const now = () => ++clock;
    const roomId = "raw_hot_group";
    const created = await createRoom(kv, roomId, {
      kind: "createGroup",
      creator: members[0]!,
      name: "Hot",
      avatar: null,
      memberIds: members.slice(1).map((m) => m.id),
    }, now());
    let pick = 0;
    // Senders rotate with a stride so that each send finds the sender with unread messages to clear.
    const senders = () => members[pick = (pick + 7) % memberCount]!;
    const chain: Chain = {
      units: sendChain(roomId, created.state, senders, options.commits + 1, now),
      next: 0,
      versionstamp: created.versionstamp,
    };
    const shape = shapeOf(chain.units[1]!);
    const serial = await runChains(kv, [chain], {
      workers: 1,
      unitsPerCommit: 1,
      total: options.commits,
      maxMs: options.maxMs,
    });
    return { shape, serial };
  } finally {
    kv.close();
  }
}
