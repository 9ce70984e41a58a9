/**
 * Attachments in the web client, in real Chromium against a real server process: Alice uploads an
 * image with the file picker (a progress bar, then the image at its size) and a file pasted into the
 * box, and drops one on the conversation; Bob sees the image and the download cards live.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { chromium, type Page } from "playwright-core";
import { startServer } from "./support/server_process.ts";
import { solidPng } from "./support/uploads.ts";

const CHROMIUM = "/usr/bin/chromium";
const WAIT_MS = 10_000;
const SHOTS = new URL("screenshots/", import.meta.url);
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);

interface PageElement {
  naturalWidth: number;
  width: number;
  getAttribute(name: string): string | null;
  textContent: string | null;
  dispatchEvent(event: unknown): boolean;
}
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  getElementById(id: string): PageElement | null;
};
declare const DataTransfer: new () => { items: { add(file: unknown): void } };
declare const File: new (parts: unknown[], name: string, options: { type: string }) => unknown;
declare const ClipboardEvent: new (type: string, init: Record<string, unknown>) => unknown;
declare const DragEvent: new (type: string, init: Record<string, unknown>) => unknown;

async function until(page: Page, what: string, fn: (arg: string) => unknown, arg = ""): Promise<void> {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT_MS });
  } catch (err) {
    await Deno.mkdir(SHOTS, { recursive: true });
    await page.screenshot({ path: new URL(`failure-${what.replace(/\W+/g, "-")}.png`, SHOTS).pathname });
    throw new Error(`${what}: not seen within ${WAIT_MS} ms`, { cause: err });
  }
}

async function login(page: Page, base: string, userId: string, name: string): Promise<void> {
  await page.goto(base);
  await page.fill("#login-user", userId);
  await page.fill("#login-name", name);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app:not([hidden])");
  await until(page, `${userId} connected`, () => document.body.dataset.connection === "connected");
}

/** The download cards' "name · size" in the open room, in order. */
function cards(page: Page): Promise<string[]> {
  return page.$$eval(
    "#message-list .msg:not(.pending) .attachment-file",
    (els) =>
      els.map((e) =>
        `${e.querySelector(".file-name")?.textContent} · ${e.querySelector(".file-size")?.textContent}`
      ),
  );
}

Deno.test({
  name: "web client: an image from the file picker, a pasted file and a dropped one reach both users' views",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "durable-chat-browser-" });
    await using server = await startServer({ KV_PATH: `${dir}/chat.kv`, RATE_LIMIT_SEND_PER_MIN: "0" });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu"],
    });
    try {
      const problems: string[] = [];
      const open = async (userId: string, name: string) => {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
        const page = await context.newPage();
        page.on("pageerror", (err) => problems.push(`${userId}: ${err.message}`));
        page.on("console", (msg) => {
          if (msg.type() === "error") problems.push(`${userId} console: ${msg.text()}`);
        });
        await login(page, server.url, userId, name);
        return page;
      };
      const bob = await open("bob", "Bob");
      const alice = await open("alice", "Alice");
      await alice.click("#new-chat-button");
      await alice.fill("#new-chat-user", "bob");
      await alice.click("#new-chat-form button[type=submit]");
      await alice.waitForSelector("#chat-room:not([hidden])");

      // The file picker: the chip shows the upload, Enter sends the image once it is stored.
      const png = solidPng(240, 160, [220, 60, 40]);
      await alice.click("#attach-button");
      await alice.setInputFiles("#attach-file", {
        name: "red.png",
        mimeType: "image/png",
        buffer: Buffer.from(png),
      });
      await until(
        alice,
        "the attachment chip",
        () => document.getElementById("attachment-chip-text")?.textContent?.includes("red.png"),
      );
      await alice.press("#composer-input", "Enter");
      const loaded = (sel: string) => {
        const img = document.querySelector(sel);
        return img !== null && img.naturalWidth === 240 && img.getAttribute("width") === "240";
      };
      await until(
        alice,
        "Alice sees her image at its size",
        loaded,
        "#message-list .msg.mine:not(.pending) .attachment-image img",
      );
      await bob.locator("#room-list .room", { hasText: "Alice" }).click();
      await until(
        bob,
        "Bob sees the image at its size",
        loaded,
        "#message-list .msg:not(.mine) .attachment-image img",
      );
      const box = await bob.$eval(
        "#message-list .attachment-image img",
        (img) => [img.getAttribute("width"), img.getAttribute("height")],
      );
      assert.deepEqual(box, ["240", "160"]);

      // A file pasted into the message box, then one dropped on the conversation: download cards.
      await alice.$eval("#composer-input", (input) => {
        const data = new DataTransfer();
        data.items.add(new File(["hello, world"], "notes.txt", { type: "text/plain" }));
        input.dispatchEvent(
          new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }),
        );
      });
      await until(
        alice,
        "the pasted file's chip",
        () => document.getElementById("attachment-chip-text")?.textContent?.includes("notes.txt"),
      );
      await alice.fill("#composer-input", "my notes");
      await alice.press("#composer-input", "Enter");
      await until(
        alice,
        "Alice's notes card",
        () =>
          [...document.querySelectorAll("#message-list .msg:not(.pending) .file-name")].some((e) =>
            e.textContent === "notes.txt"
          ),
      );
      await alice.$eval("#composer-input", (input) => {
        const data = new DataTransfer();
        data.items.add(new File(["%PDF-1.4 tiny"], "report.pdf", { type: "application/pdf" }));
        input.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
      });
      await until(
        alice,
        "the dropped file's chip",
        () => document.getElementById("attachment-chip-text")?.textContent?.includes("report.pdf"),
      );
      await alice.press("#composer-input", "Enter");
      await until(
        bob,
        "Bob's two download cards",
        () => document.querySelectorAll("#message-list .msg:not(.pending) .attachment-file").length === 2,
      );
      assert.deepEqual(await cards(bob), ["notes.txt · 12 B", "report.pdf · 13 B"]);

      // Bob's download link works without a token; the HTML-less text file is a download.
      const href = await bob.$eval("#message-list .attachment-file", (a) => a.getAttribute("href"));
      const res = await fetch(new URL(href!, server.url));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "hello, world");
      assert.match(res.headers.get("Content-Disposition") ?? "", /^attachment/);
      await Deno.mkdir(SHOTS, { recursive: true });
      await bob.screenshot({ path: new URL("uploads-bob.png", SHOTS).pathname });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
