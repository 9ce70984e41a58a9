/**
 * @module Scale curves: latency of the reads the design promises flat cost for
 * (newest page, `beforeId` page, `afterSeq` page, room list, totalUnread) as
 * the store grows from 10k to 1M messages, and room list / totalUnread at 100
 * vs 10,000 rooms per user. Data is seeded through the real pure code; every
 * measured read goes through a real server's HTTP API.
 */
import { startServer } from "../test/support/server_process.ts";
import { benchEnv } from "./http_send.ts";
import { benchToken, seedDirectRooms, type SeededRoom, seedMessages, seedUsers } from "./seed.ts";
import { type LatencySummary, round, summarize } from "./stats.ts";

/** The reads measured at each size. */
export type ScaleMetric = "newestPage" | "beforeIdPage" | "afterSeqPage" | "roomList" | "totalUnread";

/** One size's latencies. */
export interface ScalePoint {
  storedMessages: number;
  bigRoomMessages: number;
  latencyMs: Record<ScaleMetric, LatencySummary>;
}

/** Latencies at 100 and 10,000 rooms per user. */
export interface RoomsPoint {
  roomsPerUser: number;
  latencyMs: { roomList: LatencySummary; totalUnread: LatencySummary };
}

/** The scale curves and their largest/smallest ratios (of p50). */
export interface ScaleResult {
  points: ScalePoint[];
  rooms: RoomsPoint[];
  /** p50 at the largest size ÷ p50 at the smallest, per metric. */
  ratios: Record<string, number>;
  /** How totalUnread was read: `GET /api/me` when the server has it, else the room list's field. */
  totalUnreadRoute: string;
  seedSeconds: number;
}

/** Probe user, their big room's peer, and how many small rooms they have. */
const PROBE = "u0";
const PEER = "p0";
const PROBE_ROOMS = 100;
const BACKGROUND_ROOMS = 100;

/**
 * Runs the scale curves: one KV file per size (`sizes` = total stored messages),
 * one server per file, all running at once, and the requests interleaved
 * round-robin across them, so that a noisy machine slows every size alike.
 */
export async function scaleBench(
  dir: string,
  options: { sizes: number[]; samples: number; roomCounts: number[]; log?: (line: string) => void },
): Promise<ScaleResult> {
  const log = options.log ?? (() => {});
  const seedStart = performance.now();
  const largest = options.sizes[options.sizes.length - 1]!;
  const files: {
    size: number;
    kvPath: string;
    bigRoomId: string;
    stored: number;
    bigRoomMessages: number;
  }[] = [];
  for (const size of options.sizes) {
    const kvPath = `${dir}/scale-${label(size)}.kv`;
    log(`  seeding ${label(size)} messages${size === largest ? " and the room-count users" : ""}`);
    const seeded = await seedScale(kvPath, size, size === largest ? options.roomCounts : [], log);
    files.push({ size, kvPath, ...seeded });
  }
  const seedSeconds = round((performance.now() - seedStart) / 1000, 1);
  const roomUsers = options.roomCounts.map((n) => `r${n}`);
  const tokens = new Map<string, string>();
  for (const u of [PROBE, ...roomUsers]) tokens.set(u, await benchToken(u));

  const servers = [];
  try {
    for (const f of files) servers.push(await startServer(benchEnv(f.kvPath, true)));
    const gets = servers.map((s) => timedGet(s.url, tokens));
    const totalUnreadRoute = await pickTotalUnreadRoute(gets[0]!);
    const paths = (f: (typeof files)[number]): Record<ScaleMetric, string> => {
      const middle = Math.floor(f.bigRoomMessages / 2);
      const base = `/api/chat/messages?roomId=${f.bigRoomId}&limit=50`;
      return {
        newestPage: base,
        beforeIdPage: `${base}&beforeId=${encodeURIComponent(`${f.bigRoomId}:${middle}`)}`,
        afterSeqPage: `${base}&afterSeq=${middle}`,
        roomList: "/api/chat/rooms",
        totalUnread: totalUnreadRoute,
      };
    };
    const metrics: ScaleMetric[] = ["newestPage", "beforeIdPage", "afterSeqPage", "roomList", "totalUnread"];
    const points: ScalePoint[] = files.map((f) => ({
      storedMessages: f.stored,
      bigRoomMessages: f.bigRoomMessages,
      latencyMs: {} as Record<ScaleMetric, LatencySummary>,
    }));
    for (const metric of metrics) {
      log(`  measuring ${metric}`);
      const results = await interleaved(
        files.map((f, i) => ({ get: gets[i]!, userId: PROBE, path: paths(f)[metric] })),
        options.samples,
      );
      results.forEach((r, i) => points[i]!.latencyMs[metric] = r);
    }
    const rooms: RoomsPoint[] = options.roomCounts.map((n) => ({
      roomsPerUser: n,
      latencyMs: {} as RoomsPoint["latencyMs"],
    }));
    const last = gets[gets.length - 1]!;
    for (const metric of ["roomList", "totalUnread"] as const) {
      log(`  measuring ${metric} at ${options.roomCounts.join(" vs ")} rooms per user`);
      const path = metric === "roomList" ? "/api/chat/rooms" : totalUnreadRoute;
      const results = await interleaved(
        roomUsers.map((userId) => ({ get: last, userId, path })),
        options.samples,
      );
      results.forEach((r, i) => rooms[i]!.latencyMs[metric] = r);
    }
    return { points, rooms, ratios: ratiosOf(points, rooms), totalUnreadRoute, seedSeconds };
  } finally {
    for (const s of servers) await s.stop("SIGTERM");
  }
}

function ratiosOf(points: ScalePoint[], rooms: RoomsPoint[]): Record<string, number> {
  const ratios: Record<string, number> = {};
  const first = points[0]!;
  const last = points[points.length - 1]!;
  for (const metric of Object.keys(first.latencyMs) as ScaleMetric[]) {
    ratios[`${metric} ${label(last.storedMessages)}/${label(first.storedMessages)}`] = round(
      last.latencyMs[metric].p50 / first.latencyMs[metric].p50,
      2,
    );
  }
  if (rooms.length >= 2) {
    const [small, large] = [rooms[0]!, rooms[rooms.length - 1]!];
    for (const metric of ["roomList", "totalUnread"] as const) {
      ratios[`${metric} ${large.roomsPerUser}/${small.roomsPerUser} rooms`] = round(
        large.latencyMs[metric].p50 / small.latencyMs[metric].p50,
        2,
      );
    }
  }
  return ratios;
}

/**
 * Seeds one file: the probe user with a big direct room (half of `size`) and 99
 * small ones, background rooms holding the other half, and for each of
 * `roomCounts` a user with that many direct rooms of one message each.
 */
async function seedScale(
  kvPath: string,
  size: number,
  roomCounts: number[],
  log: (line: string) => void,
): Promise<{ bigRoomId: string; stored: number; bigRoomMessages: number }> {
  const kv = await Deno.openKv(kvPath);
  try {
    const smallPeers = Array.from({ length: PROBE_ROOMS - 1 }, (_, i) => `s${i}`);
    const bgPairs: [string, string][] = Array.from(
      { length: BACKGROUND_ROOMS },
      (_, i) => [`x${i}`, `y${i}`],
    );
    const listPeers = Array.from({ length: Math.max(0, ...roomCounts) }, (_, i) => `q${i}`);
    const roomUsers = roomCounts.map((n) => `r${n}`);
    await seedUsers(kv, [PROBE, PEER, ...smallPeers, ...bgPairs.flat(), ...listPeers, ...roomUsers]);
    const [big] = await seedDirectRooms(kv, [[PEER, PROBE]]);
    await seedDirectRooms(kv, smallPeers.map((s) => [s, PROBE]));
    const background = await seedDirectRooms(kv, bgPairs);
    for (const [i, n] of roomCounts.entries()) {
      await seedDirectRooms(kv, listPeers.slice(0, n).map((q) => [q, roomUsers[i]!]));
    }
    const bigTarget = Math.floor(size / 2);
    const backgroundTarget = size - bigTarget - smallPeers.length;
    const perBackground = Math.max(0, Math.floor(backgroundTarget / BACKGROUND_ROOMS) - 1);
    let lastLog = 0;
    const [grownBig, ...grownBackground] = await seedMessages(
      kv,
      [big!, ...background],
      [bigTarget - 1, ...background.map(() => perBackground)],
      // The peer sends three of four messages, so the probe user has unread messages in the big room.
      (room, seq) => room.roomId === big!.roomId ? (seq % 4 === 0 ? PROBE : PEER) : senderOf(room, seq),
      {
        parallel: 4,
        onProgress: (done) => {
          if (done - lastLog >= 250_000) log(`    ${(lastLog = done)} messages`);
        },
      },
    );
    const stored = grownBig!.state.lastSeq + grownBackground.reduce((n, r) => n + r.state.lastSeq, 0) +
      smallPeers.length;
    return { bigRoomId: big!.roomId, stored, bigRoomMessages: grownBig!.state.lastSeq };
  } finally {
    kv.close();
  }
}

/** Sequential requests, rotating over the targets, after a warm-up; every one must be a 200. */
async function interleaved(
  targets: { get: TimedGet; userId: string; path: string }[],
  samples: number,
): Promise<LatencySummary[]> {
  const latencies = targets.map(() => [] as number[]);
  const warmup = Math.min(20, Math.ceil(samples / 5));
  for (let i = 0; i < warmup + samples; i++) {
    for (const [t, { get, userId, path }] of targets.entries()) {
      const { ms, status, body } = await get(userId, path);
      if (status !== 200) throw new Error(`GET ${path}: ${status} ${body}`);
      if (i >= warmup) latencies[t]!.push(ms);
    }
  }
  return latencies.map(summarize);
}

function senderOf(room: SeededRoom, seq: number): string {
  const ids = [...room.state.members.keys()].sort();
  return ids[seq % ids.length]!;
}

/** `10k`, `1M`, … */
export function label(n: number): string {
  if (Math.round(n / 1e3) >= 1000) return `${round(n / 1e6, 1)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}k`;
  return String(n);
}

type TimedGet = (userId: string, path: string) => Promise<{ ms: number; status: number; body: string }>;

function timedGet(url: string, tokens: Map<string, string>): TimedGet {
  return async (userId, path) => {
    const t0 = performance.now();
    const res = await fetch(`${url}${path}`, {
      headers: { Authorization: `Bearer ${tokens.get(userId)}` },
      signal: AbortSignal.timeout(30_000),
    });
    const body = await res.text();
    return { ms: performance.now() - t0, status: res.status, body };
  };
}

async function pickTotalUnreadRoute(get: TimedGet): Promise<string> {
  const me = await get(PROBE, "/api/me");
  if (me.status === 200 && typeof JSON.parse(me.body).totalUnread === "number") return "/api/me";
  return "/api/chat/rooms?limit=1";
}
