/**
 * @module The realtime bench: 1,000 `pusher-js` clients (in their own process)
 * on the embedded gateway, a steady open-loop send rate, and from each send to
 * the clients' `new-message`: latency, loss, how fast the outbox backlog clears
 * once the load stops, and the server's memory per idle connection.
 */
import { startServer } from "../test/support/server_process.ts";
import { directRoomId } from "../storage/ids.ts";
import { benchEnv } from "./http_send.ts";
import { collectGarbage, freePort, maybeProfile, type ProfileSummary } from "./profile.ts";
import type { ClientsInput, ClientsReport } from "./realtime_clients.ts";
import { benchToken, seedDirectRooms, seedUsers } from "./seed.ts";
import {
  cpuTimeMs,
  type LatencySummary,
  residentBytes,
  round,
  sleep,
  summarize,
  threadCpuMs,
  threadShares,
  wallClockMs,
} from "./stats.ts";

/** One steady-rate phase of the realtime bench. */
export interface RealtimePhase {
  targetRate: number;
  seconds: number;
  /** Sends acknowledged per second over the load window. */
  achievedRate: number;
  sent: number;
  acked: number;
  sendErrors: number;
  /** Ticks where the sender could not keep the schedule (too many sends in flight). */
  skipped: number;
  sendLatencyMs: LatencySummary;
  /** Send start → `new-message` at each subscribed client (both members of the room). */
  deliveryLatencyMs: LatencySummary;
  expectedDeliveries: number;
  deliveries: number;
  /** Acknowledged messages some subscribed member never received. */
  missing: number;
  duplicates: number;
  /** From the last acknowledged send until `/healthz` showed no pending outbox batch. */
  backlogClearMs: number | null;
  backlogAtStop: number;
  serverCpu: number;
  /** The server's busy threads during the load, in cores (main = the JS thread). */
  serverThreads: { thread: string; cores: number }[];
  /**
   * Commit → published to the gateway, from the server's `/metrics` histogram (bucket upper
   * bounds, so "≤"): tells the outbox's share of the delivery latency from the gateway's and
   * the clients'.
   */
  commitToPublishMs: { p50: number; p99: number; mean: number };
  /** The server's CPU profile during the load (with `--profile`). */
  profile?: ProfileSummary;
}

/** What the realtime bench measured. */
export interface RealtimeResult {
  clients: number;
  clientsConnected: number;
  connectSeconds: number;
  /**
   * Server RSS before and after the clients connected and idled, each sampled after a full garbage
   * collection (what the connections keep); `perConnectionNoGcKiB` is the growth without that collection
   * (what the earlier runs reported: it includes the garbage of the 1,000 authorizations).
   */
  memory: {
    rssBeforeMiB: number;
    rssAfterMiB: number;
    perConnectionKiB: number;
    perConnectionNoGcKiB: number;
  };
  phases: RealtimePhase[];
  clientErrors: string[];
}

/** Runs the realtime bench with `clients` clients (two per direct room). */
export async function realtimeBench(
  dir: string,
  options: {
    clients: number;
    rates: number[];
    seconds: number;
    profile?: boolean;
    log?: (line: string) => void;
  },
): Promise<RealtimeResult> {
  const log = options.log ?? (() => {});
  const kvPath = `${dir}/realtime.kv`;
  const rooms = Math.floor(options.clients / 2);
  const pairs: [string, string][] = Array.from({ length: rooms }, (_, i) => [`c${2 * i}`, `c${2 * i + 1}`]);
  {
    const kv = await Deno.openKv(kvPath);
    await seedUsers(kv, pairs.flat());
    await seedDirectRooms(kv, pairs);
    kv.close();
  }
  const tokens = new Map(
    await Promise.all(pairs.flat().map(async (id) => [id, await benchToken(id)] as const)),
  );
  // The inspector also runs a garbage collection before each memory sample (and profiles with --profile).
  const inspect = freePort();
  const server = await startServer(
    benchEnv(kvPath, true),
    20_000,
    { denoFlags: [`--inspect=127.0.0.1:${inspect}`] },
  );
  let clientsProc: Deno.ChildProcess | undefined;
  try {
    const auth = (id: string) => ({ Authorization: `Bearer ${tokens.get(id)}` });
    const cfgRes = await fetch(`${server.url}/api/realtime/config`, { headers: auth("c0") });
    if (cfgRes.status !== 200) throw new Error(`realtime config: ${cfgRes.status} ${await cfgRes.text()}`);
    const cfg = await cfgRes.json() as { key: string; wsHost?: string; wsPort?: number };
    // Warm the server up (JIT, caches) before measuring its baseline memory.
    for (let i = 0; i < 200; i++) await send(server.url, pairs[i % rooms]!, tokens, `warm ${i}`);
    await sleep(2000);
    await collectGarbage(inspect);
    const rssBefore = residentBytes(server.child.pid);

    const input: ClientsInput = {
      url: server.url,
      key: cfg.key,
      wsHost: cfg.wsHost ?? "127.0.0.1",
      wsPort: cfg.wsPort ?? server.port,
      clients: pairs.flatMap(([a, b]) => {
        const channel = `private-room-${directRoomId(a, b)}`;
        return [{ userId: a, token: tokens.get(a)!, channel }, { userId: b, token: tokens.get(b)!, channel }];
      }),
      wave: 50,
      timeoutMs: 120_000,
    };
    const inputPath = `${dir}/realtime-clients.json`;
    await Deno.writeTextFile(inputPath, JSON.stringify(input));
    log(`  connecting ${input.clients.length} pusher-js clients`);
    clientsProc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./realtime_clients.ts", import.meta.url).pathname, inputPath],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = lineReader(clientsProc.stdout);
    const ready = JSON.parse((await lines.next("READY ", 150_000)).slice("READY ".length)) as {
      clients: number;
      errors: number;
      ms: number;
    };
    log(
      `  ${ready.clients} clients subscribed in ${
        round(ready.ms / 1000, 1)
      } s (${ready.errors} errors); idling`,
    );
    await sleep(3000);
    const rssAfterNoGc = residentBytes(server.child.pid);
    await collectGarbage(inspect);
    await sleep(500);
    const rssAfter = residentBytes(server.child.pid);

    const runs: Run[] = [];
    for (const rate of options.rates) {
      log(`  sending ${rate} msgs/s for ${options.seconds} s`);
      const cpu0 = cpuTimeMs(server.child.pid);
      const threads0 = threadCpuMs(server.child.pid);
      const histogram0 = await publishHistogram(server.url);
      const profiler = await maybeProfile(options.profile ? inspect : undefined);
      const load = await steadySends(server.url, pairs, tokens, rate, options.seconds);
      const profile = await profiler.stop();
      const cpu = round((cpuTimeMs(server.child.pid) - cpu0) / 1000 / load.seconds, 2);
      const threads = threadShares(threads0, threadCpuMs(server.child.pid), load.seconds);
      // The target is 2 s; wait longer (bounded) so that loss is told apart from lateness.
      const backlog = await waitForBacklog(server.url, load.lastAckAt, 60_000);
      log(`    backlog ${backlog.atStop} at stop, clear after ${backlog.clearMs} ms`);
      const published = histogramSummary(histogram0, await publishHistogram(server.url));
      runs.push({ rate, load, backlog, cpu, threads, published, profile });
      await sleep(1000); // deliveries already published may still be on the wire
    }
    clientsProc.stdin.close();
    const report = JSON.parse((await lines.next("REPORT ", 60_000)).slice("REPORT ".length)) as ClientsReport;
    await clientsProc.status;
    clientsProc = undefined;
    const connections = ready.clients;
    return {
      clients: input.clients.length,
      clientsConnected: connections - report.disconnected,
      connectSeconds: round(ready.ms / 1000, 1),
      memory: {
        rssBeforeMiB: round(rssBefore / 2 ** 20, 1),
        rssAfterMiB: round(rssAfter / 2 ** 20, 1),
        perConnectionKiB: round((rssAfter - rssBefore) / 1024 / Math.max(1, connections), 1),
        perConnectionNoGcKiB: round((rssAfterNoGc - rssBefore) / 1024 / Math.max(1, connections), 1),
      },
      phases: runs.map((run) => phaseOf(run, report)),
      clientErrors: report.errors,
    };
  } finally {
    if (clientsProc) {
      clientsProc.kill("SIGKILL");
      await clientsProc.status;
    }
    await server.stop("SIGTERM");
  }
}

type Backlog = { clearMs: number | null; atStop: number };

interface Run {
  rate: number;
  load: Awaited<ReturnType<typeof steadySends>>;
  backlog: Backlog;
  cpu: number;
  threads: RealtimePhase["serverThreads"];
  published: RealtimePhase["commitToPublishMs"];
  profile?: ProfileSummary;
}

type Histogram = { bounds: number[]; counts: number[]; sum: number; count: number };

/** The realtime sink's commit-to-delivery histogram from `/metrics`. */
async function publishHistogram(url: string): Promise<Histogram> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const h: Histogram = { bounds: [], counts: [], sum: 0, count: 0 };
  for (const line of text.split("\n")) {
    const bucket = /^outbox_delivery_latency_seconds_bucket\{sink="realtime",le="([^"]+)"\} (\d+)/.exec(line);
    if (bucket && bucket[1] !== "+Inf") {
      h.bounds.push(Number(bucket[1]));
      h.counts.push(Number(bucket[2]));
    }
    const sum = /^outbox_delivery_latency_seconds_sum\{sink="realtime"\} ([\d.]+)/.exec(line);
    if (sum) h.sum = Number(sum[1]);
    const count = /^outbox_delivery_latency_seconds_count\{sink="realtime"\} (\d+)/.exec(line);
    if (count) h.count = Number(count[1]);
  }
  return h;
}

/** p50 / p99 (as bucket upper bounds) and mean of the batches delivered between two readings. */
function histogramSummary(before: Histogram, after: Histogram): RealtimePhase["commitToPublishMs"] {
  const count = after.count - before.count;
  const at = (q: number) => {
    const i = after.counts.findIndex((c, j) => c - (before.counts[j] ?? 0) >= q * count);
    return i < 0 ? Infinity : after.bounds[i]! * 1000;
  };
  return count > 0
    ? { p50: at(0.5), p99: at(0.99), mean: round(((after.sum - before.sum) / count) * 1000, 1) }
    : { p50: NaN, p99: NaN, mean: NaN };
}

/** One phase's figures: its acknowledged messages matched with what the clients received. */
function phaseOf(run: Run, report: ClientsReport): RealtimePhase {
  const { load, backlog } = run;
  const acked = new Set(load.ackedIds);
  const perMessage = new Map<string, number>();
  const latencies: number[] = [];
  for (const [id, sentAt, receivedAt] of report.deliveries) {
    if (!acked.has(id)) continue;
    perMessage.set(id, (perMessage.get(id) ?? 0) + 1);
    latencies.push(receivedAt - sentAt);
  }
  let missing = 0;
  let duplicates = 0;
  for (const id of acked) {
    const n = perMessage.get(id) ?? 0;
    if (n < 2) missing++;
    if (n > 2) duplicates += n - 2;
  }
  return {
    targetRate: run.rate,
    seconds: round(load.seconds, 2),
    achievedRate: round(load.ackedIds.length / load.seconds, 1),
    sent: load.sent,
    acked: load.ackedIds.length,
    sendErrors: load.errors,
    skipped: load.skipped,
    sendLatencyMs: summarize(load.latencies),
    deliveryLatencyMs: summarize(latencies),
    expectedDeliveries: acked.size * 2,
    deliveries: latencies.length,
    missing,
    duplicates,
    backlogClearMs: backlog.clearMs,
    backlogAtStop: backlog.atStop,
    serverCpu: run.cpu,
    serverThreads: run.threads,
    commitToPublishMs: run.published,
    ...(run.profile ? { profile: run.profile } : {}),
  };
}

async function send(
  url: string,
  [a, b]: [string, string],
  tokens: Map<string, string>,
  content: string,
): Promise<{ ok: boolean; id?: string }> {
  const res = await fetch(`${url}/api/chat/send`, {
    method: "POST",
    headers: { Authorization: `Bearer ${tokens.get(a)}`, "Content-Type": "application/json" },
    body: JSON.stringify({ receiverId: b, content }),
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    return { ok: false };
  }
  return { ok: true, id: (await res.json()).message.id };
}

/**
 * Open-loop sends: every 10 ms, the sends due by now start, whatever is still
 * in flight (up to 1,000 at once; beyond that a tick is skipped and counted).
 */
async function steadySends(
  url: string,
  pairs: [string, string][],
  tokens: Map<string, string>,
  rate: number,
  seconds: number,
) {
  const latencies: number[] = [];
  const ackedIds: string[] = [];
  let sent = 0;
  let errors = 0;
  let skipped = 0;
  let inFlight = 0;
  let lastAckAt = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.round(rate * seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    while (sent < due) {
      if (inFlight >= 1000) {
        skipped++;
        break;
      }
      // Sender alternates within each pair, so both members receive messages from the other.
      const pair = pairs[sent % pairs.length]!;
      const direction = Math.floor(sent / pairs.length) % 2 === 0
        ? pair
        : [pair[1], pair[0]] as [string, string];
      sent++;
      inFlight++;
      const t0 = performance.now();
      pending.push(
        send(url, direction, tokens, `rt ${wallClockMs()}`).then((r) => {
          latencies.push(performance.now() - t0);
          if (r.ok) {
            ackedIds.push(r.id!);
            lastAckAt = performance.now();
          } else errors++;
        }, () => void errors++).finally(() => void inFlight--),
      );
    }
    await sleep(10);
  }
  const loadEnd = performance.now();
  await Promise.all(pending);
  return { latencies, ackedIds, sent, errors, skipped, lastAckAt, seconds: (loadEnd - start) / 1000 };
}

/** Polls `/healthz` until no outbox batch is pending; returns how long after the last ack that was. */
async function waitForBacklog(url: string, lastAckAt: number, timeoutMs: number): Promise<Backlog> {
  let atStop = -1;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const res = await fetch(`${url}/healthz`);
    const health = await res.json() as { outbox: { pending: number; retrying: number } };
    const backlog = health.outbox.pending + health.outbox.retrying;
    if (atStop < 0) atStop = backlog;
    if (backlog === 0) return { clearMs: round(performance.now() - lastAckAt, 1), atStop };
    await sleep(50);
  }
  return { clearMs: null, atStop };
}

/** Reads lines from a child's stdout and hands out the first one with a given prefix. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(prefix: string, timeoutMs: number): Promise<string> {
      const deadline = performance.now() + timeoutMs;
      while (true) {
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        const found = lines.findIndex((l) => l.startsWith(prefix));
        if (found >= 0) {
          buffer = [...lines.slice(found + 1), buffer].join("\n");
          return lines[found]!;
        }
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`no "${prefix.trim()}" line from the clients process`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), left)),
        ]).finally(() => clearTimeout(timer));
        if (chunk === null) continue;
        if (chunk.done) throw new Error(`clients process ended before "${prefix.trim()}"`);
        buffer += chunk.value;
      }
    },
  };
}
