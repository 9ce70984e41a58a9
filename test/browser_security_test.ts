/**
 * The web pages in real Chromium (Debian's `/usr/bin/chromium`, driven by playwright-core)
 * against a real server process, for what the security review found in them: the docs page
 * keeps the admin key for the tab only, and the chat client ignores events it does not know
 * (a member's `client-*` events must not make every client reload its room list).
 */
import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import * as pusherJs from "pusher-js/worker/index.js";
import { eventually } from "./support/outbox_harness.ts";
import { startServer } from "./support/server_process.ts";

// Deno types this CommonJS default export as the whole module; at runtime it is the class.
const PusherClient = pusherJs.default as unknown as typeof pusherJs.default.default;

const CHROMIUM = "/usr/bin/chromium";
const WAIT_MS = 10_000;
const ADMIN_KEY = "browser-admin-key-0123456789";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);

declare const document: {
  body: { dataset: Record<string, string | undefined> };
  getElementById(id: string): { dispatchEvent(event: unknown): boolean; textContent: string | null } | null;
};
declare const localStorage: { getItem(key: string): string | null; setItem(key: string, v: string): void };
declare const sessionStorage: { getItem(key: string): string | null };
declare const Event: new (type: string) => unknown;

async function withBrowser(
  fn: (browser: Browser, url: string) => Promise<void>,
  env: Record<string, string>,
) {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-browser-security-" });
  try {
    await using server = await startServer({
      KV_PATH: `${dir}/chat.kv`,
      RATE_LIMIT_SEND_PER_MIN: "0",
      ...env,
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    try {
      await fn(browser, server.url);
    } finally {
      await browser.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function until(page: Page, what: string, fn: (arg: string) => unknown, arg = ""): Promise<void> {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT_MS });
  } catch (err) {
    throw new Error(`${what}: not seen within ${WAIT_MS} ms`, { cause: err });
  }
}

Deno.test({
  name: "/docs keeps the admin key in sessionStorage, never in localStorage",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withBrowser(async (browser, url) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      // A key an earlier version left in localStorage is moved out of it on load.
      await page.goto(`${url}/docs`);
      await page.evaluate(() =>
        localStorage.setItem("durable-chat.docs.adminKey", "left-over-key-0123456789")
      );
      await page.reload();
      await page.waitForSelector("#auth-admin");
      assert.equal(await page.evaluate(() => localStorage.getItem("durable-chat.docs.adminKey")), null);
      assert.equal(await page.inputValue("#auth-admin"), "left-over-key-0123456789");
      await page.fill("#auth-admin", ADMIN_KEY);
      await page.evaluate(() => document.getElementById("auth-admin")!.dispatchEvent(new Event("change")));
      assert.equal(
        await page.evaluate(() => sessionStorage.getItem("durable-chat.docs.adminKey")),
        ADMIN_KEY,
      );
      assert.equal(await page.evaluate(() => localStorage.getItem("durable-chat.docs.adminKey")), null);
      await page.reload();
      await page.waitForSelector("#auth-admin");
      assert.equal(await page.inputValue("#auth-admin"), ADMIN_KEY, "the tab keeps it across reloads");
      const other = await context.newPage();
      await other.goto(`${url}/docs`);
      await other.waitForSelector("#auth-admin");
      assert.equal(await other.inputValue("#auth-admin"), "", "another tab does not get it");
      await context.close();
    }, { ADMIN_API_KEY: ADMIN_KEY });
  },
});

/** Dev-login tokens and JSON calls against the server process. */
function apiOf(url: string) {
  const tokens = new Map<string, string>();
  const login = async (userId: string) => {
    const res = await fetch(`${url}/api/dev/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ userId, name: userId }),
    });
    const { token } = await res.json();
    tokens.set(userId, token);
    return token as string;
  };
  const call = async (userId: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${tokens.get(userId)}`, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  return { login, call, token: (userId: string) => tokens.get(userId)! };
}

/** Bob signs in to the web client and opens the room; resolves once its channel is subscribed. */
async function openAsBob(browser: Browser, url: string, roomId: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(err.message));
  /** Every frame Bob's socket received, as text. */
  const received: string[] = [];
  page.on("websocket", (ws) => ws.on("framereceived", (frame) => received.push(String(frame.payload))));
  await page.goto(url);
  await page.fill("#login-user", "bob");
  await page.fill("#login-name", "Bob");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app:not([hidden])");
  await page.goto(`${url}/#room=${encodeURIComponent(roomId)}`);
  await until(page, "bob connected", () => document.body.dataset.connection === "connected");
  await page.waitForSelector("#chat-room:not([hidden])");
  await until(
    page,
    "bob subscribed to the room",
    // deno-lint-ignore no-explicit-any
    (name) => (globalThis as any).Pusher?.instances?.[0]?.channel(name)?.subscribed === true,
    `private-room-${roomId}`,
  );
  await until(
    page,
    "bob signed in on the socket",
    // deno-lint-ignore no-explicit-any
    () => (globalThis as any).Pusher?.instances?.[0]?.user?.user_data?.id === "bob",
  );
  return { context, page, problems, received };
}

Deno.test({
  name: "web client ignores a member's client events instead of reloading its room list",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withBrowser(async (browser, url) => {
      const api = apiOf(url);
      const aliceToken = await api.login("alice");
      await api.login("bob");
      const { roomId } = await api.call("alice", "POST", "/api/chat/groups", {
        name: "Noise",
        memberIds: ["bob"],
      });
      const roomListLoads: string[] = [];
      const { context, page, problems } = await openAsBob(browser, url, roomId);
      page.on("request", (req) => {
        const path = new URL(req.url()).pathname;
        if (path === "/api/chat/rooms") roomListLoads.push(req.url());
        if (path === "/healthz") roomListLoads.push("barrier");
      });
      const channel = `private-room-${roomId}`;
      await page.evaluate((name) => {
        // deno-lint-ignore no-explicit-any
        const g = globalThis as any;
        g.clientEventsSeen = 0;
        g.Pusher.instances[0].channel(name).bind("client-noise", () => g.clientEventsSeen++);
      }, channel);

      const config = await (await fetch(`${url}/api/realtime/config`, {
        headers: { Authorization: `Bearer ${aliceToken}` },
      })).json();
      const alice = new PusherClient(config.key, {
        ...config,
        disableStats: true,
        channelAuthorization: {
          endpoint: config.authEndpoint,
          transport: "ajax",
          headers: { Authorization: `Bearer ${aliceToken}` },
        },
      });
      try {
        const room = alice.subscribe(channel);
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("alice did not subscribe")), WAIT_MS);
          room.bind("pusher:subscription_succeeded", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        const before = roomListLoads.length;
        for (let i = 0; i < 5; i++) assert.equal(room.trigger("client-noise", { i }), true);
        await until(page, "bob received the client events", () =>
          // deno-lint-ignore no-explicit-any
          (globalThis as any).clientEventsSeen === 5);
        // Requests are reported in the order the page makes them: after this one, none is pending.
        await page.evaluate(() => fetch("/healthz").then((r) => r.text()));
        const deadline = Date.now() + WAIT_MS;
        while (!roomListLoads.slice(before).includes("barrier") && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.deepEqual(roomListLoads.slice(before), ["barrier"], "no room list reload for client events");
        assert.deepEqual(problems, []);
      } finally {
        alice.disconnect();
        await context.close();
      }
    }, { PUSHER_CLIENT_EVENTS: "1" });
  },
});

Deno.test({
  name: "web client subscribes to the open room again when its user is added back after a removal",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withBrowser(async (browser, url) => {
      const api = apiOf(url);
      await api.login("alice");
      await api.login("bob");
      const { roomId } = await api.call("alice", "POST", "/api/chat/groups", {
        name: "Back",
        memberIds: ["bob"],
      });
      const { context, page, problems, received } = await openAsBob(browser, url, roomId);
      try {
        const joined = () =>
          received.filter((f) =>
            f.includes("subscription_succeeded") && f.includes(`private-room-${roomId}`)
          );
        assert.equal(joined().length, 1);
        await api.call("alice", "DELETE", `/api/chat/rooms/${roomId}/members/bob`);
        await api.call("alice", "POST", `/api/chat/rooms/${roomId}/members`, { userIds: ["bob"] });
        await eventually(() => joined().length === 2, "bob subscribed to the room again");
        // Typing goes only to the room channel: Bob sees it only if his new subscription is live.
        await api.call("alice", "POST", "/api/chat/typing", { roomId, isTyping: true });
        await until(
          page,
          "alice typing",
          () => /typing/.test(document.getElementById("typing")?.textContent ?? ""),
        );
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    }, {});
  },
});
