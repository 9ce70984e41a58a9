import assert from "node:assert/strict";
import { outboxCounts, outboxStats } from "../outbox/operations.ts";
import { startRecorder } from "./support/onesignal_recorder.ts";
import { pusherAt } from "./support/outbox_harness.ts";
import { startServer } from "./support/server_process.ts";

interface Acked {
  id: string;
  roomId: string;
  seq: number;
}

/** Sends from `senderToken` to `receiverId` as fast as acknowledged, until `stop` says so. */
async function sendUntil(
  url: string,
  token: string,
  receiverId: string,
  acked: Acked[],
  stop: () => boolean,
) {
  for (let i = 0; !stop(); i++) {
    try {
      const res = await fetch(`${url}/api/chat/send`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ receiverId, content: `load ${i}` }),
      });
      if (res.status === 200) {
        const { message } = await res.json();
        acked.push({ id: message.id, roomId: message.roomId, seq: message.seq });
      } else {
        await res.body?.cancel();
      }
    } catch {
      return; // the server is gone
    }
  }
}

Deno.test("a server killed with SIGKILL mid-load delivers every acknowledged message after restart", async () => {
  await using rec = startRecorder();
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-crash-" });
  const env = { KV_PATH: `${dir}/chat.kv`, RATE_LIMIT_SEND_PER_MIN: "0", ...pusherAt(rec.port) };
  try {
    const acked: Acked[] = [];
    const first = await startServer(env);
    const pairs = [["alice", "bob"], ["bob", "carol"], ["carol", "dave"], ["dave", "alice"]];
    const tokens = new Map<string, string>();
    for (const [sender] of pairs) tokens.set(sender!, await first.login(sender!));
    let killed = false;
    const load = Promise.all(
      pairs.map(([sender, receiver]) =>
        sendUntil(first.url, tokens.get(sender!)!, receiver!, acked, () => killed)
      ),
    );
    // Deliver for a while, then let the sink hang so batches are in flight and pending at the kill.
    await rec.until(() => rec.events.length >= 20, "the first deliveries");
    rec.mode = "hang";
    const ackedAtHang = acked.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(await first.stop("SIGKILL"), 137);
    killed = true;
    await load;
    assert.ok(acked.length > ackedAtHang, "messages were acknowledged while the sink hung");

    rec.mode = "ok";
    await using second = await startServer(env);
    const delivered = () => {
      const ids = new Set<string>();
      for (const e of rec.events) {
        if (e.name === "new-message" && e.channel.startsWith("private-room-")) {
          ids.add((e.data as { id: string }).id);
        }
      }
      return ids;
    };
    await rec.until(() => acked.every((m) => delivered().has(m.id)), "every acknowledged message", 20_000);
    // Per room, first arrivals came in seq order across the crash (duplicates may follow).
    const firstSeqs = new Map<string, number[]>();
    const seen = new Set<string>();
    for (const e of rec.events) {
      const data = e.data as { id?: string; roomId?: string; seq?: number };
      if (e.name !== "new-message" || !e.channel.startsWith("private-room-") || seen.has(data.id!)) continue;
      seen.add(data.id!);
      firstSeqs.set(data.roomId!, [...(firstSeqs.get(data.roomId!) ?? []), data.seq!]);
    }
    for (const [room, seqs] of firstSeqs) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), room);
    // The counters behind /healthz stayed exact across the kill: they agree with the rows, and reach 0.
    const health = async () => (await (await fetch(`${second.url}/healthz`)).json()).outbox;
    for (let i = 0; i < 200 && (await health()).pending + (await health()).retrying > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(await health(), { pending: 0, retrying: 0, dead: 0 });
    {
      using kv = await Deno.openKv(env.KV_PATH);
      const [counted, scanned] = [await outboxCounts(kv), await outboxStats(kv)];
      assert.deepEqual([counted.pending, counted.retrying, counted.dead], [0, 0, 0]);
      assert.deepEqual([scanned.pending, scanned.retrying, scanned.dead], [0, 0, 0]);
    }
    console.log(
      `crash test: ${acked.length} acknowledged, ${seen.size} delivered, ${rec.events.length} events`,
    );
    assert.equal(await second.stop("SIGTERM"), 0, second.output()); // a clean shutdown: watcher stopped, KV closed
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
