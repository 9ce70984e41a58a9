/**
 * @module Seeding large data sets fast, through the real pure room code:
 * `startBatch` → `applyCommand` → `buildRoomUnit`, committed straight to KV
 * without the outbox rows (so the server's watcher has nothing to drain).
 * Only for bench data: the measured reads go through a real server's HTTP API.
 */
import { emptyFacts, startBatch } from "../actors/commands/command.ts";
import { applyCommand, type RoomCommand } from "../actors/commands/registry.ts";
import { buildRoomUnit } from "../actors/room_writes.ts";
import { signToken } from "../auth/jwt.ts";
import type { CommitUnit } from "../storage/commit_batcher.ts";
import { directRoomId } from "../storage/ids.ts";
import { keys } from "../storage/keys.ts";
import type { Profile, RoomState, UserRecord } from "../storage/records.ts";
import { benchContent } from "./raw_kv.ts";

/** The secret bench servers sign tokens with (`AUTH_JWT_SECRET`). */
export const BENCH_SECRET = "bench-secret-0123456789-abcdefghijklmnop";

/** KV allows 1000 mutations per atomic; keep a margin. */
const MAX_MUTATIONS = 900;
/** Sends folded into one seeding commit (message rows are ~400 bytes). */
const SENDS_PER_COMMIT = 400;

/** The profile bench users get (and their tokens claim, so no request rewrites them). */
export function benchProfile(id: string): Profile {
  return { id, name: `User ${id}`, avatar: null };
}

/** A token for `userId`, signed as the server's dev login signs them. */
export function benchToken(userId: string, ttlSeconds = 6 * 3600): Promise<string> {
  return signToken(BENCH_SECRET, { sub: userId, name: benchProfile(userId).name }, ttlSeconds);
}

/** Writes user records for `ids` (as a first authenticated request would). */
export async function seedUsers(kv: Deno.Kv, ids: string[]): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < ids.length; i += 500) {
    const op = kv.atomic();
    for (const id of ids.slice(i, i + 500)) {
      const { name, avatar } = benchProfile(id);
      const record: UserRecord = { id, name, avatar, createdAt: now, updatedAt: now };
      op.set(keys.user(id), record);
    }
    await commitOrThrow(op, "seed users");
  }
}

/** The unit of one batch of commands on a room, without outbox rows. */
function unitOf(roomId: string, before: RoomState | null, commands: RoomCommand[], now: number) {
  const work = startBatch(roomId, before, emptyFacts());
  for (const cmd of commands) applyCommand(work, cmd, { now, sendLimit: 0 });
  const unit = buildRoomUnit({ state: before, versionstamp: null }, work, {
    now,
    push: false,
    rateLogVersions: new Map(),
  });
  // No outbox rows, and so none of the counters' sums that would count them (they would never drain).
  const outboxKeys = [keys.outboxPending()[0], keys.outboxCount("", "")[0]];
  unit.mutations = unit.mutations.filter((m) => !outboxKeys.includes(m.key[0] as string));
  delete unit.wake;
  return { unit, state: work.state! };
}

/** A seeded room as this process last committed it. */
export interface SeededRoom {
  roomId: string;
  state: RoomState;
  versionstamp: string;
}

/**
 * Creates direct rooms for `pairs` (`[sender, receiver]`), each with one
 * message from the sender, folding many rooms into one commit.
 */
export async function seedDirectRooms(kv: Deno.Kv, pairs: [string, string][]): Promise<SeededRoom[]> {
  const out: SeededRoom[] = [];
  let pending: { roomId: string; unit: CommitUnit; state: RoomState }[] = [];
  let mutations = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const op = kv.atomic();
    for (const p of pending) {
      op.check({ key: keys.room(p.roomId), versionstamp: null }).mutate(...p.unit.mutations);
    }
    const result = await commitOrThrow(op, "seed direct rooms");
    for (const p of pending) {
      out.push({ roomId: p.roomId, state: p.state, versionstamp: result.versionstamp });
    }
    pending = [];
    mutations = 0;
  };
  let now = Date.now();
  for (const [a, b] of pairs) {
    const roomId = directRoomId(a, b);
    const { unit, state } = unitOf(roomId, null, [{
      kind: "send",
      sender: benchProfile(a),
      peer: benchProfile(b),
      input: { content: benchContent(0), type: "text" },
    }], ++now);
    if (mutations + unit.mutations.length > MAX_MUTATIONS || pending.length >= 90) await flush();
    pending.push({ roomId, unit, state });
    mutations += unit.mutations.length;
  }
  await flush();
  return out;
}

/** Creates a group owned by `members[0]`. */
export async function seedGroup(kv: Deno.Kv, roomId: string, members: string[]): Promise<SeededRoom> {
  const { unit, state } = unitOf(roomId, null, [{
    kind: "createGroup",
    creator: benchProfile(members[0]!),
    name: "Bench group",
    avatar: null,
    memberIds: members.slice(1),
  }], Date.now());
  const op = kv.atomic().check({ key: keys.room(roomId), versionstamp: null }).mutate(...unit.mutations);
  const result = await commitOrThrow(op, "seed group");
  return { roomId, state, versionstamp: result.versionstamp };
}

/** Reads a room's head again (the server may have moved it, e.g. a newest-page read). */
export async function reloadRoom(kv: Deno.Kv, roomId: string): Promise<SeededRoom> {
  const entry = await kv.get<RoomState>(keys.room(roomId));
  if (entry.value === null || entry.versionstamp === null) throw new Error(`no room ${roomId}`);
  return { roomId, state: entry.value, versionstamp: entry.versionstamp };
}

/**
 * Appends `count` messages to each room, round-robin between rooms, with
 * senders picked by `sender(room, i)`; up to `parallel` commits in flight.
 * Returns the rooms as they stand afterwards.
 */
export async function seedMessages(
  kv: Deno.Kv,
  rooms: SeededRoom[],
  counts: number[],
  sender: (room: SeededRoom, i: number) => string,
  options: { parallel?: number; onProgress?: (done: number) => void } = {},
): Promise<SeededRoom[]> {
  const current = rooms.map((r) => ({ ...r }));
  const left = [...counts];
  let done = 0;
  let clock = Date.now();
  const jobs: Promise<void>[] = [];
  const worker = async (w: number) => {
    const parallel = options.parallel ?? 4;
    for (let r = w; r < current.length; r += parallel) {
      const room = current[r]!;
      while (left[r]! > 0) {
        const n = Math.min(SENDS_PER_COMMIT, left[r]!);
        const commands: RoomCommand[] = [];
        for (let i = 0; i < n; i++) {
          const seq = room.state.lastSeq + i + 1;
          commands.push({
            kind: "send",
            sender: benchProfile(sender(room, seq)),
            input: { content: benchContent(seq), type: "text" },
          });
        }
        const { unit, state } = unitOf(room.roomId, room.state, commands, ++clock);
        const op = kv.atomic().check({ key: keys.room(room.roomId), versionstamp: room.versionstamp })
          .mutate(...unit.mutations);
        const result = await commitOrThrow(op, `seed messages of ${room.roomId}`);
        room.state = state;
        room.versionstamp = result.versionstamp;
        left[r]! -= n;
        done += n;
        options.onProgress?.(done);
      }
    }
  };
  for (let w = 0; w < (options.parallel ?? 4); w++) jobs.push(worker(w));
  await Promise.all(jobs);
  return current;
}

async function commitOrThrow(op: Deno.AtomicOperation, what: string): Promise<Deno.KvCommitResult> {
  const result = await op.commit();
  if (!result.ok) throw new Error(`${what}: a check failed (is a server writing the same rooms?)`);
  return result;
}
