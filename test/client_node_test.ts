/**
 * @module The SDK's Node build (client/build.ts → chat.node.js) imported and used by `node`
 * itself: a script sends, reads rooms and listens with onMessage against a real server.
 */
import assert from "node:assert/strict";
import { buildClient } from "../client/build.ts";
import { FAST_RETRY, startOutboxServer } from "./support/outbox_harness.ts";

const SCRIPT = `
import { ChatApiError, createChatClient } from "./chat.node.js";

const { BASE_URL, ALICE, BOB } = process.env;
const alice = createChatClient({ baseUrl: BASE_URL, token: ALICE });
const bob = createChatClient({ baseUrl: BASE_URL, token: async () => BOB });
const { message } = await alice.send({ receiverId: "bob", content: "hello from node" });
const seqs = [];
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("no messages within 20 s")), 20_000);
  bob.onMessage(message.roomId, (m) => {
    seqs.push(m.seq);
    if (seqs.length === 1) alice.send({ roomId: message.roomId, content: "live" }).catch(reject);
    if (seqs.length === 2) {
      clearTimeout(timer);
      resolve();
    }
  }, { afterSeq: 0, onError: reject });
});
const { rooms } = await bob.rooms();
const refused = await bob.messages("no-such-room").catch((e) => e instanceof ChatApiError && e.status);
alice.close();
bob.close();
console.log(JSON.stringify({ node: process.version, seqs, unread: rooms[0].unreadCount, refused }));
`;

Deno.test("the Node build runs under node: send, rooms, messages and onMessage against a real server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-sdk-node-" });
  try {
    await buildClient(dir, ["chat.node.js"]);
    await Deno.writeTextFile(`${dir}/use_sdk.mjs`, SCRIPT);
    await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
    const env = { BASE_URL: t.url, ALICE: await t.login("alice"), BOB: await t.login("bob") };
    const child = new Deno.Command("node", {
      args: ["use_sdk.mjs"],
      cwd: dir,
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000); // it must exit by itself
    const { code, stdout, stderr } = await child.output().finally(() => clearTimeout(killer));
    const output = new TextDecoder().decode(stdout);
    assert.equal(code, 0, `node failed:\n${output}\n${new TextDecoder().decode(stderr)}`);
    const result = JSON.parse(output.trim().split("\n").at(-1)!);
    assert.ok(Number(/^v(\d+)\./.exec(result.node)?.[1]) >= 20, `node ${result.node}`);
    assert.deepEqual(result.seqs, [1, 2]);
    assert.equal(result.unread, 2);
    assert.equal(result.refused, 404);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
