/**
 * @module `/healthz` at any backlog: one KV file per backlog size (0 to 10,000
 * pending batches, written by the real outbox code with their counters), one
 * server per file with realtime pointed at a port where nothing listens (so
 * the backlog stays), and `/healthz` timed round-robin across them. For
 * contrast it also times the row scan `/healthz` used to make.
 */
import { outboxStats } from "../outbox/operations.ts";
import { outboxBatchWrite, roomStream } from "../outbox/outbox.ts";
import type { RoomEvent } from "../storage/records.ts";
import { startServer } from "../test/support/server_process.ts";
import { benchEnv } from "./http_send.ts";
import { type LatencySummary, round, summarize } from "./stats.ts";

/** One backlog size's figures. */
export interface HealthPoint {
  backlog: number;
  /** What `/healthz` reported as pending + retrying (must equal `backlog`). */
  reported: number;
  healthzMs: LatencySummary;
  /** The row scan the old `/healthz` made, timed in the bench process. */
  scanMs: LatencySummary;
}

/** The curve and its p50 ratio, largest backlog ÷ empty outbox. */
export interface HealthResult {
  points: HealthPoint[];
  ratio: number;
}

/** Batches per stream in the seeded backlogs (direct rooms with a message each per batch). */
const PER_STREAM = 50;

/** Measures `/healthz` latency at each backlog size. */
export async function healthBench(
  dir: string,
  options: { backlogs: number[]; samples: number; log?: (line: string) => void },
): Promise<HealthResult> {
  const log = options.log ?? (() => {});
  const deadPort = await freePort();
  const files: { backlog: number; kvPath: string }[] = [];
  for (const backlog of options.backlogs) {
    const kvPath = `${dir}/health-${backlog}.kv`;
    log(`  seeding ${backlog} pending batches`);
    await seedBacklog(kvPath, backlog);
    files.push({ backlog, kvPath });
  }
  const servers = [];
  try {
    for (const f of files) {
      servers.push(
        await startServer({
          ...benchEnv(f.kvPath, true),
          PUSHER_HOST: "127.0.0.1",
          PUSHER_PORT: String(deadPort),
          PUSHER_USE_TLS: "false",
          PUSHER_APP_ID: "bench",
          PUSHER_KEY: "bench-key",
          PUSHER_SECRET: "bench-secret",
        }),
      );
    }
    const latencies = files.map(() => [] as number[]);
    const reported = files.map(() => 0);
    const warmup = Math.min(20, Math.ceil(options.samples / 5));
    log(`  timing /healthz, ${options.samples} samples per size, interleaved`);
    for (let i = 0; i < warmup + options.samples; i++) {
      for (const [n, server] of servers.entries()) {
        const start = performance.now();
        const res = await fetch(`${server.url}/healthz`);
        const body = await res.json();
        const ms = performance.now() - start;
        if (res.status !== 200) throw new Error(`/healthz: ${res.status} ${JSON.stringify(body)}`);
        reported[n] = body.outbox.pending + body.outbox.retrying;
        if (i >= warmup) latencies[n]!.push(ms);
      }
    }
    log("  timing the row scan of the old /healthz");
    const points: HealthPoint[] = [];
    for (const [n, f] of files.entries()) {
      using kv = await Deno.openKv(f.kvPath);
      const scans: number[] = [];
      for (let i = 0; i < Math.min(20, options.samples); i++) {
        const start = performance.now();
        await outboxStats(kv);
        scans.push(performance.now() - start);
      }
      points.push({
        backlog: f.backlog,
        reported: reported[n]!,
        healthzMs: summarize(latencies[n]!),
        scanMs: summarize(scans),
      });
    }
    const ratio = round(points[points.length - 1]!.healthzMs.p50 / points[0]!.healthzMs.p50, 2);
    return { points, ratio };
  } finally {
    for (const s of servers) await s.stop("SIGTERM");
  }
}

/** Writes `count` pending batches (a new message each) over direct-room streams, 100 per commit. */
async function seedBacklog(kvPath: string, count: number): Promise<void> {
  using kv = await Deno.openKv(kvPath);
  const now = Date.now();
  for (let i = 0; i < count; i += 100) {
    const op = kv.atomic();
    for (let n = i; n < Math.min(count, i + 100); n++) {
      const roomId = `dm_bench_${Math.floor(n / PER_STREAM)}`;
      const seq = (n % PER_STREAM) + 1;
      const event: RoomEvent = {
        type: "message.created",
        message: {
          id: `${roomId}:${seq}`,
          roomId,
          seq,
          senderId: "a",
          sender: { id: "a", name: "A", avatar: null },
          content: `backlog message ${n}`,
          type: "text",
          reactions: new Map(),
          createdAt: now,
        },
        receiverId: "b",
        unread: { b: seq },
      };
      op.mutate(
        ...outboxBatchWrite("realtime", { stream: roomStream(roomId), order: seq, now }, [event]).mutations,
      );
    }
    await op.commit();
  }
}

/** A port on 127.0.0.1 where nothing listens. */
async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  await Promise.resolve();
  return port;
}
