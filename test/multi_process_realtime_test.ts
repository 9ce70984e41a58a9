/**
 * Two server processes on one KV file, each with its own embedded gateway and
 * unmodified pusher-js clients: every client gets every event of its rooms in
 * order, whichever process took the send and whichever watcher delivered it,
 * and a member removed through one process stops receiving on the other.
 */
import assert from "node:assert/strict";
import { eventually } from "./support/outbox_harness.ts";
import { drained, PusherClient, subscribe, within } from "./support/pusher_clients.ts";
import { type ServerProcess, startServer } from "./support/server_process.ts";

/** How long a process's clients may take to get what they wait for. */
const WAIT_MS = 15_000;

type Message = { id: string; seq: number; roomId: string; content: string };

/** A process, the tokens it handed out, and a JSON caller. */
interface Node {
  server: ServerProcess;
  call<T>(userId: string, method: string, path: string, body?: unknown): Promise<T>;
}

function nodeOf(server: ServerProcess, tokens: Map<string, string>): Node {
  return {
    server,
    async call<T>(userId: string, method: string, path: string, body?: unknown): Promise<T> {
      let token = tokens.get(userId);
      if (!token) tokens.set(userId, token = await server.login(userId));
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${method} ${path} as ${userId}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    },
  };
}

/** pusher-js configured from the process's GET /api/realtime/config, as the web client does. */
async function connect(node: Node, userId: string, clients: PusherClient[]): Promise<PusherClient> {
  const config = await node.call<Record<string, unknown>>(userId, "GET", "/api/realtime/config");
  const token = await node.server.login(userId);
  const headers = { Authorization: `Bearer ${token}` };
  const client = new PusherClient(
    config.key as string,
    {
      ...config,
      disableStats: true,
      channelAuthorization: { endpoint: config.authEndpoint as string, transport: "ajax", headers },
    } as ConstructorParameters<typeof PusherClient>[1],
  );
  clients.push(client);
  await within(`${userId} connected`, (resolve) => client.connection.bind("connected", resolve));
  return client;
}

Deno.test("two processes on one KV: pusher-js clients on both get every event of their rooms in order, and a removal through one ends access on the other", async () => {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-mp-realtime-" });
  const env = { KV_PATH: `${dir}/chat.kv`, RATE_LIMIT_SEND_PER_MIN: "0", RATE_LIMIT_WRITE_PER_MIN: "0" };
  const clients: PusherClient[] = [];
  try {
    await using a = await startServer(env);
    await using b = await startServer(env);
    const tokens = new Map<string, string>();
    const [nodeA, nodeB] = [nodeOf(a, tokens), nodeOf(b, tokens)];
    for (const user of ["bob", "carol", "dave"]) await nodeA.call(user, "GET", "/api/me");
    const { roomId } = await nodeA.call<{ roomId: string }>("alice", "POST", "/api/chat/groups", {
      name: "Team",
      memberIds: ["bob", "carol", "dave"],
    });

    // bob listens on A, carol and dave on B; alice on both.
    const listeners = [
      { user: "bob", node: nodeA },
      { user: "alice", node: nodeA },
      { user: "carol", node: nodeB },
      { user: "dave", node: nodeB },
      { user: "alice", node: nodeB },
    ];
    const seen: { label: string; client: PusherClient; seqs: number[]; removed: string[] }[] = [];
    for (const { user, node } of listeners) {
      const client = await connect(node, user, clients);
      const channel = await subscribe(client, `private-room-${roomId}`);
      const entry = { label: `${user}@${node === nodeA ? "A" : "B"}`, client, seqs: [], removed: [] };
      channel.bind("new-message", (m: Message) => (entry.seqs as number[]).push(m.seq));
      channel.bind("member-removed", (e: { userId: string }) => (entry.removed as string[]).push(e.userId));
      seen.push(entry);
    }

    // Sends through both processes, one after another and then at once.
    const senders = ["alice", "bob", "carol", "dave"];
    for (let i = 0; i < 8; i++) {
      const node = i % 2 === 0 ? nodeA : nodeB;
      await node.call(senders[i % 4]!, "POST", "/api/chat/send", { roomId, content: `m${i}` });
    }
    await Promise.all(
      Array.from(
        { length: 12 },
        (_, i) =>
          (i % 2 === 0 ? nodeA : nodeB).call(senders[i % 4]!, "POST", "/api/chat/send", {
            roomId,
            content: `c${i}`,
          }),
      ),
    );
    const all = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const entry of seen) {
      await eventually(
        () => entry.seqs.length >= 20,
        `20 messages at ${entry.label} (has ${entry.seqs})`,
        WAIT_MS,
      );
      assert.deepEqual(entry.seqs, all, `${entry.label} got every message once, in seq order`);
    }

    // dave (on B) is removed through A; what follows reaches everyone else but him.
    await nodeA.call("alice", "DELETE", `/api/chat/rooms/${roomId}/members/dave`);
    for (let i = 0; i < 4; i++) {
      await (i % 2 === 0 ? nodeA : nodeB).call("alice", "POST", "/api/chat/send", {
        roomId,
        content: `after${i}`,
      });
    }
    const dave = seen.find((e) => e.label === "dave@B")!;
    for (const entry of seen) {
      if (entry === dave) continue;
      await eventually(
        () => entry.seqs.length >= 24,
        `the messages after the removal at ${entry.label}`,
        WAIT_MS,
      );
      assert.deepEqual(entry.seqs, [...all, 21, 22, 23, 24], `${entry.label} in order after the removal`);
      assert.deepEqual(entry.removed, ["dave"], `${entry.label} saw the removal`);
    }
    await drained(dave.client);
    assert.deepEqual(dave.seqs, all, "dave receives nothing after his removal");
  } finally {
    for (const client of clients) client.disconnect();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a process that dies with its clients is skipped: the others' clients get every event once, in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-mp-realtime-" });
  const env = { KV_PATH: `${dir}/chat.kv`, RATE_LIMIT_SEND_PER_MIN: "0" };
  const clients: PusherClient[] = [];
  try {
    await using a = await startServer(env);
    await using b = await startServer(env);
    const c = await startServer(env);
    const tokens = new Map<string, string>();
    const [nodeA, nodeB, nodeC] = [nodeOf(a, tokens), nodeOf(b, tokens), nodeOf(c, tokens)];
    await nodeA.call("bob", "GET", "/api/me");
    const { roomId } = await nodeA.call<{ roomId: string }>("alice", "POST", "/api/chat/start", {
      receiverId: "bob",
    });
    const seen: { label: string; seqs: number[] }[] = [];
    for (const [label, node] of [["A", nodeA], ["B", nodeB], ["C", nodeC]] as const) {
      const client = await connect(node, "bob", clients); // accepted once C's gateway is registered
      const channel = await subscribe(client, `private-room-${roomId}`);
      const entry = { label, seqs: [] as number[] };
      channel.bind("new-message", (m: Message) => entry.seqs.push(m.seq));
      seen.push(entry);
    }
    await nodeC.call("alice", "POST", "/api/chat/send", { roomId, content: "before" });
    for (const entry of seen) {
      await eventually(() => entry.seqs.length === 1, `the first message at ${entry.label}`, WAIT_MS);
    }
    await c.stop("SIGKILL"); // its registration stays in KV until it lapses

    for (let i = 0; i < 10; i++) {
      await (i % 2 === 0 ? nodeA : nodeB).call("alice", "POST", "/api/chat/send", {
        roomId,
        content: `m${i}`,
      });
    }
    const expected = Array.from({ length: 11 }, (_, i) => i + 1);
    for (const entry of seen.filter((e) => e.label !== "C")) {
      await eventually(
        () => entry.seqs.length >= 11,
        `11 messages at ${entry.label} (has ${entry.seqs})`,
        WAIT_MS,
      );
      await drained(clients[seen.indexOf(entry)]!);
      // A delivery that failed on the dead peer would be retried: its events would come twice.
      assert.deepEqual(entry.seqs, expected, `${entry.label} got each message once, in order`);
    }
  } finally {
    for (const client of clients) client.disconnect();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
