/**
 * @module Send throughput over HTTP against a real server process: many direct
 * rooms, and one hot group, with group commit on and off. The hot room ends
 * with an exact check of seqs and every member's unread counts over HTTP.
 */
import { type ServerProcess, startServer } from "../test/support/server_process.ts";
import { directRoomId } from "../storage/ids.ts";
import { keys } from "../storage/keys.ts";
import type { RoomState } from "../storage/records.ts";
import { type LoadRequest, type LoadResult, runLoad } from "./load.ts";
import { freePort, maybeProfile, type ProfileSummary } from "./profile.ts";
import { BENCH_SECRET, benchToken, seedDirectRooms, seedGroup, seedUsers } from "./seed.ts";
import { cpuTimeMs, round, sleep, threadCpuMs, threadShares } from "./stats.ts";

/** The environment of a bench server. */
export function benchEnv(kvPath: string, groupCommit: boolean): Record<string, string> {
  return {
    KV_PATH: kvPath,
    AUTH_JWT_SECRET: BENCH_SECRET,
    RATE_LIMIT_SEND_PER_MIN: "0",
    GROUP_COMMIT: groupCommit ? "on" : "off",
    // The realtime bench connects 1,000 clients from one address.
    GATEWAY_MAX_CONNECTIONS_PER_IP: "0",
  };
}

/** One send load run, with what the server used. */
export interface SendRun {
  groupCommit: boolean;
  load: LoadResult;
  /** Server CPU over the measured run, as a share of one core (JS thread + KV thread + I/O). */
  serverCpu: number;
  /** The server's busy threads over the measured run, in cores (main = the JS thread). */
  serverThreads: { thread: string; cores: number }[];
  /** Messages stored (beyond the seeds) when the server stopped; ≥ acknowledged sends. */
  stored: number;
  /** The server's CPU profile over the measured run (with `--profile`). */
  profile?: ProfileSummary;
}

/** Options shared by the send benches. */
export interface SendOptions {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  useWrk: boolean;
  /** Profile the server's JS thread during the measured run (through its inspector). */
  profile?: boolean;
  /**
   * Server processes on the one KV file, all listening on one port (`REUSE_PORT=1`), the
   * kernel spreading the load's connections over them. Default 1.
   */
  processes?: number;
  /** Names the KV file apart from the runs of other process counts. */
  tag?: string;
  /** More server environment (e.g. `HOT_ROOM_FORWARDING=off`). */
  env?: Record<string, string>;
}

/** Sends from `a{i}` to `b{i}` over `rooms` existing direct rooms. */
export async function directSendBench(
  dir: string,
  rooms: number,
  groupCommit: boolean,
  options: SendOptions,
): Promise<SendRun> {
  const kvPath = `${dir}/send-${groupCommit ? "gc" : "nogc"}${options.tag ?? ""}.kv`;
  const pairs: [string, string][] = Array.from({ length: rooms }, (_, i) => [`a${i}`, `b${i}`]);
  {
    const kv = await Deno.openKv(kvPath);
    await seedUsers(kv, pairs.flat());
    await seedDirectRooms(kv, pairs);
    kv.close();
  }
  const requests: LoadRequest[] = await Promise.all(pairs.map(async ([a, b]) => ({
    method: "POST" as const,
    path: "/api/chat/send",
    token: await benchToken(a),
    body: JSON.stringify({ receiverId: b, content: "load {n}" }),
  })));
  const run = await measureSends(kvPath, groupCommit, requests, options);
  const kv = await Deno.openKv(kvPath);
  try {
    const heads = await Promise.all(pairs.map(([a, b]) => kv.get<RoomState>(keys.room(directRoomId(a, b)))));
    run.stored = heads.reduce((n, h) => n + (h.value?.lastSeq ?? 1) - 1, 0);
  } finally {
    kv.close();
  }
  return run;
}

/** Starts the server process(es), warms up, measures, stops them. */
async function measureSends(
  kvPath: string,
  groupCommit: boolean,
  requests: LoadRequest[],
  options: SendOptions,
  afterLoad?: (url: string) => Promise<void>,
): Promise<SendRun> {
  const count = options.processes ?? 1;
  const inspect = options.profile && count === 1 ? freePort() : undefined;
  const env = count === 1
    ? { ...benchEnv(kvPath, groupCommit), ...options.env }
    : { ...benchEnv(kvPath, groupCommit), ...options.env, PORT: String(freePort()), REUSE_PORT: "1" };
  const servers: ServerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) {
      servers.push(
        await startServer(env, 20_000, inspect ? { denoFlags: [`--inspect=127.0.0.1:${inspect}`] } : {}),
      );
    }
    const url = servers[0]!.url;
    const pids = servers.map((s) => s.child.pid);
    const cpu = () => pids.reduce((ms, pid) => ms + cpuTimeMs(pid), 0);
    const load = { connections: options.connections, useWrk: options.useWrk };
    await runLoad(url, requests, { ...load, seconds: options.warmupSeconds });
    await sleep(500);
    const cpu0 = cpu();
    const threads0 = threadCpuMs(pids[0]!);
    const profiler = await maybeProfile(inspect);
    const result = await runLoad(url, requests, { ...load, seconds: options.seconds });
    const cpu1 = cpu();
    const threads1 = threadCpuMs(pids[0]!);
    const profile = await profiler.stop();
    await afterLoad?.(url);
    return {
      groupCommit,
      load: result,
      serverCpu: round((cpu1 - cpu0) / 1000 / result.seconds, 2),
      serverThreads: threadShares(threads0, threads1, result.seconds),
      stored: 0,
      ...(profile ? { profile } : {}),
    };
  } finally {
    for (const server of servers) await server.stop("SIGTERM");
  }
}

/** The hot-room run plus the exact check at its end. */
export interface HotRun extends SendRun {
  lastSeq: number;
  /** Members whose unreadCount and totalUnread matched the model. */
  unreadExact: boolean;
  unreadChecked: number;
  seqsExact: boolean;
  problems: string[];
}

/** `members` members of one group, every connection sending as a random member. */
export async function hotRoomBench(
  dir: string,
  members: number,
  groupCommit: boolean,
  options: SendOptions,
): Promise<HotRun> {
  const kvPath = `${dir}/hot-${groupCommit ? "gc" : "nogc"}${options.tag ?? ""}.kv`;
  const ids = Array.from({ length: members }, (_, i) => `h${i}`);
  const roomId = "g_bench_hot";
  {
    const kv = await Deno.openKv(kvPath);
    await seedUsers(kv, ids);
    await seedGroup(kv, roomId, ids);
    kv.close();
  }
  const tokens = new Map(await Promise.all(ids.map(async (id) => [id, await benchToken(id)] as const)));
  const requests: LoadRequest[] = ids.map((id) => ({
    method: "POST",
    path: "/api/chat/send",
    token: tokens.get(id)!,
    body: JSON.stringify({ roomId, content: "hot {n}" }),
  }));
  let check: Omit<HotRun, keyof SendRun> | undefined;
  const run = await measureSends(kvPath, groupCommit, requests, options, async (url) => {
    check = await checkHotRoom(url, roomId, ids, tokens);
  });
  return { ...run, stored: check!.lastSeq, ...check! };
}

interface Listed {
  rooms: { id: string; unreadCount: number; lastSeq: number }[];
  totalUnread: number;
}

/**
 * Reads every message with `afterSeq` pages (which do not mark anything read),
 * then checks each member's unread count and total against the model: unread =
 * messages by others after the member's last own send.
 */
async function checkHotRoom(
  url: string,
  roomId: string,
  ids: string[],
  tokens: Map<string, string>,
): Promise<Omit<HotRun, keyof SendRun>> {
  const problems: string[] = [];
  const get = async <T>(userId: string, path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      headers: { Authorization: `Bearer ${tokens.get(userId)}` },
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return await res.json() as T;
  };
  // Requests the server took before the load stopped may still be committing: wait until it is quiet.
  let previous = -1;
  for (let i = 0; i < 60; i++) {
    const listed = await get<Listed>(ids[0]!, "/api/chat/rooms?limit=5");
    const now = listed.rooms.find((r) => r.id === roomId)?.lastSeq ?? 0;
    if (now === previous) break;
    previous = now;
    await sleep(500);
  }
  const seqs: number[] = [];
  const lastOwn = new Map<string, number>();
  for (let after = 0, more = true; more;) {
    const page = await get<{ messages: { seq: number; senderId: string }[]; hasMore: boolean }>(
      ids[0]!,
      `/api/chat/messages?roomId=${roomId}&afterSeq=${after}&limit=100`,
    );
    for (const m of page.messages) {
      seqs.push(m.seq);
      lastOwn.set(m.senderId, Math.max(lastOwn.get(m.senderId) ?? 0, m.seq));
    }
    more = page.hasMore && page.messages.length > 0;
    after = seqs[seqs.length - 1] ?? after;
  }
  const lastSeq = seqs.length;
  const seqsExact = seqs.every((s, i) => s === i + 1);
  if (!seqsExact) problems.push("seqs are not exactly 1..lastSeq");
  let unreadChecked = 0;
  for (const id of ids) {
    const expected = lastSeq - (lastOwn.get(id) ?? 0);
    const listed = await get<Listed>(id, "/api/chat/rooms?limit=5");
    const room = listed.rooms.find((r) => r.id === roomId);
    if (!room) {
      problems.push(`${id}: room missing from the list`);
      continue;
    }
    if (room.lastSeq !== lastSeq) problems.push(`${id}: lastSeq ${room.lastSeq} != ${lastSeq}`);
    if (room.unreadCount !== expected) problems.push(`${id}: unreadCount ${room.unreadCount} != ${expected}`);
    if (listed.totalUnread !== expected) {
      problems.push(`${id}: totalUnread ${listed.totalUnread} != ${expected}`);
    }
    unreadChecked++;
  }
  return { lastSeq, unreadExact: problems.length === 0, unreadChecked, seqsExact, problems };
}
