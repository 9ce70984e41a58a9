/**
 * The operator console (`/admin`) in real Chromium (Debian's `/usr/bin/chromium` through
 * playwright-core, a fresh profile): sign in with the admin key, watch the realtime backlog
 * grow while Pusher answers 500, see the dead letter with its last error and replay it, read
 * the charts, the live tail and the browser. `UPDATE_README_SCREENSHOT=1` writes `docs/admin.png`.
 */
import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
import { startRecorder } from "./support/onesignal_recorder.ts";
import { FAST_RETRY, pusherAt, startOutboxServer } from "./support/outbox_harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = new URL("../", import.meta.url);
const SHOTS = new URL("test/screenshots/", ROOT);
const README_SHOT = new URL("docs/admin.png", ROOT);
const ADMIN_KEY = "admin-key-for-the-console-test";
const WAIT_MS = 20_000;

const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!hasChromium) console.warn(`admin_browser_test: skipped, ${CHROMIUM} is missing`);

/** The few DOM names the page functions use (they run in the browser). */
interface PageElement {
  textContent: string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  body: { classList: { contains(name: string): boolean } };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};
declare const sessionStorage: { getItem(key: string): string | null };

async function until(page: Page, what: string, fn: (arg: string) => unknown, arg = ""): Promise<void> {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 100 });
  } catch (err) {
    await Deno.mkdir(SHOTS, { recursive: true });
    await page.screenshot({
      path: new URL(`admin-failure-${what.replace(/\W+/g, "-")}.png`, SHOTS).pathname,
    });
    throw new Error(`${what}: not seen within ${WAIT_MS} ms`, { cause: err });
  }
}

/** Whether the sum of the sink card's numbers for `arg` = "sink:state,state:min" is at least min. */
function cardsAtLeast(arg: string): boolean {
  const [sink, states, min] = arg.split(":") as [string, string, string];
  const total = states.split(",").reduce((n, state) => {
    const text = document.querySelector(`.sink[data-sink="${sink}"] dd[data-state="${state}"]`)?.textContent;
    return n + (text === undefined || text === null ? NaN : Number(text));
  }, 0);
  return total >= Number(min);
}

/** Whether the sink card's numbers for `arg` = "sink:state,state" are all 0. */
function cardsZero(arg: string): boolean {
  const [sink, states] = arg.split(":") as [string, string];
  return states.split(",").every((state) =>
    document.querySelector(`.sink[data-sink="${sink}"] dd[data-state="${state}"]`)?.textContent === "0"
  );
}

Deno.test({
  name:
    "/admin in Chromium: key sign-in, backlog while Pusher fails, a dead letter replayed, charts, tail, browser",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using rec = startRecorder();
    let pusherDown = false;
    rec.mode = (r) =>
      pusherDown && r.path.startsWith("/apps/") ? { status: 500, body: { error: "down" } } : null;
    await using t = await startOutboxServer({
      ...pusherAt(rec.port),
      ONESIGNAL_APP_ID: "os-app",
      ONESIGNAL_REST_API_KEY: "os-rest-key",
      ONESIGNAL_API_URL: rec.url,
      ADMIN_API_KEY: ADMIN_KEY,
    }, { outbox: { ...FAST_RETRY, retry: { baseMs: 400, maxMs: 1500, maxAttempts: 6 } } });
    for (const user of ["bob", "carol"]) await t.login(user);
    const { roomId: team } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/groups", {
      name: "Team",
      memberIds: ["bob", "carol"],
    });
    for (const [from, content] of [["alice", "standup at 10"], ["bob", "ok"], ["carol", "on my way"]]) {
      await t.ok(from!, "POST", "/api/chat/send", { roomId: team, content });
    }
    const { message: direct } = await t.ok<{ message: { roomId: string } }>(
      "alice",
      "POST",
      "/api/chat/send",
      {
        receiverId: "bob",
        content: "lunch?",
      },
    );
    await rec.until(() => rec.notifications().length >= 5, "the pushes of the first messages");

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (err) => problems.push(err.message));
      await page.goto(`${t.url}/admin`);

      // A wrong key is refused; the right one is kept in this tab's sessionStorage.
      await page.fill("#key", "not-the-key-at-all-really");
      await page.click("#login button[type=submit]");
      await until(page, "the refusal", () => document.querySelector("#login-error")?.textContent !== "");
      assert.equal(await page.evaluate(() => sessionStorage.getItem("durable-chat.adminKey")), null);
      await page.fill("#key", ADMIN_KEY);
      await page.click("#login button[type=submit]");
      await until(page, "signed in", () => document.body.classList.contains("signed-in"));
      assert.equal(await page.evaluate(() => sessionStorage.getItem("durable-chat.adminKey")), ADMIN_KEY);
      await page.reload();
      await until(
        page,
        "still signed in after a reload",
        () => document.body.classList.contains("signed-in"),
      );
      await until(page, "the realtime card", cardsZero, "realtime:pending,retrying,dead");

      // Pusher answers 500: the backlog grows, then the first batch is dead with its last error.
      pusherDown = true;
      await t.ok("alice", "POST", "/api/chat/send", { roomId: direct.roomId, content: "are you there?" });
      await t.ok("alice", "POST", "/api/chat/send", { roomId: direct.roomId, content: "hello?" });
      await until(page, "a realtime backlog", cardsAtLeast, "realtime:pending,retrying:2");
      await until(page, "a dead letter", () => document.querySelector("#dead table.dead tbody tr") !== null);
      const row = await page.locator("#dead tbody tr").first().textContent();
      assert.match(row ?? "", /realtime/);
      assert.match(row ?? "", new RegExp(direct.roomId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      assert.match(row ?? "", /500/);
      await until(page, "the dead count on the card", cardsAtLeast, "realtime:dead:1");

      // Charts are drawn with their values written on them.
      await page.selectOption("#days", "1"); // redraws the charts now (they refresh by themselves every 30 s)
      await until(page, "the charts", () => document.querySelectorAll("#charts svg.chart").length >= 4);
      await until(
        page,
        "every message in the chart",
        () =>
          /\b6 in the last 24 h/.test(
            document.querySelector('[data-chart="messages"] figcaption')?.textContent ?? "",
          ),
      );
      const captions = await page.locator("#charts figcaption").allTextContents();
      assert.ok(
        captions.some((c) => /Messages per hour.*\b6 in the last 24 h/.test(c)),
        captions.join(" | "),
      );
      assert.ok(captions.some((c) => /Active users per day.*3 today/.test(c)), captions.join(" | "));
      assert.ok(captions.some((c) => /Delivery latency · realtime/.test(c)), captions.join(" | "));
      assert.ok(captions.some((c) => /Push outcomes.*\d+ delivered/.test(c)), captions.join(" | "));
      const values = await page.locator('#charts [data-chart="messages"] svg text.value').allTextContents();
      assert.ok(values.length > 0 && values.every((v) => /^\d/.test(v)), `bar values: ${values}`);

      await Deno.mkdir(SHOTS, { recursive: true });
      await page.screenshot({ path: new URL("admin.png", SHOTS).pathname, fullPage: true });
      if (Deno.env.get("UPDATE_README_SCREENSHOT") === "1") {
        await page.screenshot({ path: README_SHOT.pathname, fullPage: true });
      }

      // Pusher is back; replay the dead letter from its row, confirmed in the page's dialog.
      pusherDown = false;
      await page.locator('#dead tbody tr button[data-action="replay"]').first().click();
      await page.waitForSelector("#confirm[open]");
      await page.click("#confirm-ok");
      await until(page, "no dead letters left", () => document.querySelector("#dead .empty") !== null);
      await until(page, "an empty realtime backlog", cardsZero, "realtime:pending,retrying,dead");
      await rec.until(
        () => rec.events.filter((e) => e.channel === `private-room-${direct.roomId}`).length >= 3,
        "the replayed and the waiting messages published",
      );

      // The live tail, filtered to the group.
      await until(page, "the live tail", () => document.querySelector("#tail table.tail tbody tr") !== null);
      await page.fill("#tail-room", team);
      await page.click("#tail-filter button");
      await until(page, "the group's events only", (room) => {
        const rooms = [...document.querySelectorAll("#tail tbody tr")].map((r) =>
          r.querySelector("td:nth-child(4)")?.textContent
        );
        return rooms.length > 0 && rooms.every((r) => r === room);
      }, team);

      // The browser: the group with its members' read positions and unread counts, then a message.
      await page.selectOption("#browse-kind", "room");
      await page.fill("#browse-id", team);
      await page.click("#browse-form button");
      await until(
        page,
        "the room's members",
        () => document.querySelector("#browse table tbody tr") !== null,
      );
      const members = await page.locator("#browse table").first().locator("tbody tr").allTextContents();
      assert.equal(members.length, 3);
      assert.ok(members.some((m) => m.startsWith("aliceowner")), members.join(" | "));
      await page.locator('#browse a[data-browse^="message:"]').first().click();
      await until(
        page,
        "the message",
        () => /^Message /.test(document.querySelector("#browse h3")?.textContent ?? ""),
      );
      const html = await page.content();
      assert.doesNotMatch(html, new RegExp(ADMIN_KEY), "the key is not shown in the page");

      await page.click("#sign-out");
      await until(page, "signed out", () => !document.body.classList.contains("signed-in"));
      assert.equal(await page.evaluate(() => sessionStorage.getItem("durable-chat.adminKey")), null);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  },
});
