/**
 * @module The SDK's browser build (client/build.ts → chat.js) in real Chromium (Debian's, via
 * playwright-core): a page on another origin imports it, listens with onMessage, and sends,
 * also while the browser is offline (navigator.onLine false, then the `online` event).
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { buildClient } from "../client/build.ts";
import { eventually, FAST_RETRY, startOutboxServer } from "./support/outbox_harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const WAIT_MS = 20_000;
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>SDK</title>
<script type="module">
  import { createChatClient } from "./chat.js";
  const params = new URLSearchParams(location.search);
  const chat = createChatClient({ baseUrl: params.get("api"), token: params.get("token") });
  window.seqs = [];
  window.errors = [];
  window.chat = chat;
  chat.onMessage(params.get("room"), (m) => window.seqs.push(m.seq), {
    afterSeq: 0,
    onError: (e) => window.errors.push(String(e)),
  });
</script>`;

interface PageGlobals {
  seqs: number[];
  errors: string[];
  chat: { send(input: { roomId: string; content: string }): Promise<{ message: { seq: number } }> };
  sent?: number;
}

Deno.test({
  name: "the browser build runs in Chromium: onMessage, and a send made offline that goes out when online",
  ignore: !hasChromium,
  // Chromium's own processes and pipes outlive the page by a moment.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "durable-chat-sdk-browser-" });
    await buildClient(dir, ["chat.js"]);
    await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
    await using site = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/") return new Response(PAGE, { headers: { "Content-Type": "text/html" } });
      if (path === "/chat.js") {
        return new Response(await Deno.readFile(`${dir}/chat.js`), {
          headers: { "Content-Type": "text/javascript" },
        });
      }
      return new Response("not found", { status: 404 });
    });
    const bobToken = await t.login("bob");
    const { message } = await t.ok<{ message: { roomId: string } }>("alice", "POST", "/api/chat/send", {
      receiverId: "bob",
      content: "history",
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const query = new URLSearchParams({ api: t.url, token: bobToken, room: message.roomId });
      await page.goto(`http://127.0.0.1:${site.addr.port}/?${query}`);
      const seqs = () => page.evaluate(() => (globalThis as unknown as PageGlobals).seqs);
      await eventually(async () => (await seqs()).length === 1, "the history in the page", WAIT_MS);
      await t.ok("alice", "POST", "/api/chat/send", { roomId: message.roomId, content: "live" });
      await eventually(async () => (await seqs()).length === 2, "a live message in the page", WAIT_MS);

      await context.setOffline(true);
      const onLine = () => (globalThis as unknown as { navigator: { onLine: boolean } }).navigator.onLine;
      assert.equal(await page.evaluate(onLine), false);
      await page.evaluate((roomId) => {
        const g = globalThis as unknown as PageGlobals;
        g.chat.send({ roomId, content: "written offline" }).then((r) => g.sent = r.message.seq);
      }, message.roomId);
      const sent = () => page.evaluate(() => (globalThis as unknown as PageGlobals).sent);
      await context.setOffline(false);
      await eventually(async () => (await sent()) === 3, "the offline send, once online", WAIT_MS);
      await eventually(async () => (await seqs()).length === 3, "the page's own message", WAIT_MS);

      assert.deepEqual(await seqs(), [1, 2, 3]);
      assert.deepEqual(await page.evaluate(() => (globalThis as unknown as PageGlobals).errors), []);
      const stored = await t.ok<{ messages: { content: string }[] }>(
        "bob",
        "GET",
        `/api/chat/messages?roomId=${message.roomId}&afterSeq=0`,
      );
      assert.deepEqual(stored.messages.map((m) => m.content), ["history", "live", "written offline"]);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
