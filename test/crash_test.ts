/**
 * Crash tests: real server processes under load are killed with SIGKILL, and
 * what clients were told must still hold: every acknowledged message stored
 * exactly once, seqs without gaps or repeats, exact unread counts, and every
 * message's `new-message` event delivered at least once (observed on a
 * Pusher-protocol gateway that outlives the servers).
 */
import assert from "node:assert/strict";
import {
  callerFor,
  ChatModel,
  missingEvents,
  retryUncertain,
  runWorkload,
  verifyStore,
} from "./support/chat_model.ts";
import { startObserver } from "./support/realtime_observer.ts";
import { type ServerProcess, startServer } from "./support/server_process.ts";
import { directRoomId } from "../storage/ids.ts";

const USERS = ["u0", "u1", "u2", "u3", "u4", "u5"];
/** How long events of a crashed process may take: its stream leases (30 s) must expire first. */
const EVENT_TIMEOUT_MS = 45_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function environment(observerEnv: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-crash-" });
  return {
    dir,
    env: {
      KV_PATH: `${dir}/chat.kv`,
      AUTH_JWT_SECRET: "crash-test-secret-0123456789-abcdefgh",
      DEV_LOGIN: "1",
      RATE_LIMIT_SEND_PER_MIN: "0",
      ...observerEnv,
    },
  };
}

/** Logs in every user and creates the group; returns tokens and the group id. */
async function prepare(server: ServerProcess) {
  const tokens = new Map<string, string>();
  for (const u of USERS) tokens.set(u, await server.login(u));
  const call = callerFor(() => server.url, tokens);
  const res = await call("u0", "POST", "/api/chat/groups", { name: "Crash", memberIds: USERS.slice(1) });
  assert.equal(res.status, 200);
  const { roomId } = await res.json();
  const rooms = [roomId, directRoomId("u0", "u1"), directRoomId("u2", "u3"), directRoomId("u4", "u5")];
  return { tokens, groupId: roomId as string, rooms };
}

/** Waits until `n` sends are acknowledged (or `ms` pass). */
async function untilAcked(model: ChatModel, n: number, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (model.sent.size < n && performance.now() < deadline) await sleep(20);
}

Deno.test({
  name: "SIGKILL under load, then a restart on the same KV: acknowledged messages survive exactly once",
  async fn() {
    await using observer = await startObserver();
    const { dir, env } = await environment(observer.env);
    let server = await startServer(env);
    try {
      const { tokens, groupId, rooms } = await prepare(server);
      await observer.watchRooms(rooms);
      const model = new ChatModel();
      let alive = true;
      const call = callerFor(() => server.url, tokens);
      const load = runWorkload(model, {
        users: USERS,
        groupId,
        callers: () => (alive ? [call] : []),
        stop: () => !alive,
        workers: 12,
        tag: "before",
      });
      await untilAcked(model, 150, 10_000);
      assert.ok(model.sent.size > 0, "the load made progress before the kill");
      const crashedAt = Date.now();
      assert.equal(await server.stop("SIGKILL"), 137);
      alive = false;
      const before = await load;
      const ackedBeforeKill = model.sent.size;

      server = await startServer(env);
      const restartedAt = performance.now();
      const retried = await retryUncertain(model, call, crashedAt);
      // The restarted server keeps serving the same rooms.
      let more = true;
      const after = runWorkload(model, {
        users: USERS,
        groupId,
        callers: () => [call],
        stop: () => !more,
        workers: 8,
        tag: "after",
      });
      await untilAcked(model, ackedBeforeKill + 60, 10_000);
      more = false;
      await after;

      await verifyStore(call, model, USERS);
      await observer.waitFor(
        () => missingEvents(model, observer.observed).missing.length === 0,
        EVENT_TIMEOUT_MS,
        "every acknowledged message's new-message event",
      );
      const waited = performance.now() - restartedAt;
      const { outOfOrder } = missingEvents(model, observer.observed);
      assert.deepEqual(outOfOrder, [], "first arrivals per room in seq order");
      console.log(
        `crash/restart: ${ackedBeforeKill} acked before the kill, ${before.failures} requests cut off ` +
          `(${retried.sends} sends retried, ${retried.stored} of them had been stored), ` +
          `${model.sent.size} acked in all; every event observed ${Math.round(waited)} ms after the restart`,
      );
    } finally {
      await server.stop("SIGTERM");
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "two server processes on one KV file: killing one leaves the other serving, nothing lost or doubled",
  async fn() {
    await using observer = await startObserver();
    const { dir, env } = await environment(observer.env);
    const a = await startServer(env);
    const b = await startServer(env);
    try {
      const { tokens, groupId, rooms } = await prepare(a);
      await observer.watchRooms(rooms);
      const model = new ChatModel();
      const callA = callerFor(() => a.url, tokens);
      const callB = callerFor(() => b.url, tokens);
      let aAlive = true;
      let running = true;
      const load = runWorkload(model, {
        users: USERS,
        groupId,
        callers: () => (aAlive ? [callA, callB] : [callB]),
        stop: () => !running,
        workers: 12,
        tag: "two",
      });
      await untilAcked(model, 150, 10_000);
      const crashedAt = Date.now();
      const killedAt = performance.now();
      assert.equal(await a.stop("SIGKILL"), 137);
      aAlive = false;
      const atKill = model.sent.size;
      await untilAcked(model, atKill + 100, 10_000);
      running = false;
      await load;
      assert.ok(model.sent.size >= atKill + 100, "the surviving process kept serving");
      // Requests that died with A are retried on B with the same clientMessageId.
      const retried = await retryUncertain(model, callB, crashedAt);

      await verifyStore(callB, model, USERS);
      await observer.waitFor(
        () => missingEvents(model, observer.observed).missing.length === 0,
        EVENT_TIMEOUT_MS,
        "every acknowledged message's new-message event",
      );
      const waited = performance.now() - killedAt;
      const { outOfOrder } = missingEvents(model, observer.observed);
      assert.deepEqual(outOfOrder, [], "first arrivals per room in seq order");
      console.log(
        `two processes: ${atKill} acked when A died, ${retried.sends} sends cut off and retried on B ` +
          `(${retried.stored} had been stored), ${model.sent.size} in all; ` +
          `every event observed ${Math.round(waited)} ms after the kill`,
      );
    } finally {
      await a.stop("SIGKILL");
      await b.stop("SIGTERM");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
