import assert from "node:assert/strict";
import { expectStatus, setup, type TestContext } from "./helpers.ts";

type Message = { id: string; roomId: string; seq: number; content: string; createdAt: string };
type Page = { messages: Message[]; nextCursor?: string };

async function send(t: TestContext, from: string, roomId: string, content: string): Promise<Message> {
  const res = await t.api(from, "POST", "/api/chat/send", { roomId, content });
  return (await expectStatus<{ message: Message }>(res, 200)).message;
}

async function group(t: TestContext, owner: string, memberIds: string[]): Promise<string> {
  const res = await t.api(owner, "POST", "/api/chat/groups", { name: "G", memberIds });
  return (await expectStatus<{ roomId: string }>(res, 200)).roomId;
}

async function search(t: TestContext, user: string, query: string): Promise<Page> {
  return await expectStatus<Page>(await t.api(user, "GET", `/api/chat/search?${query}`), 200);
}

const contents = (page: Page) => page.messages.map((m) => m.content);

Deno.test("GET /api/chat/search finds whole words and prefixes, ignoring case and accents, newest first", async () => {
  await using t = await setup();
  for (const u of ["alice", "bob", "carol"]) await t.login(u);
  const ab = await group(t, "alice", ["bob"]);
  const ac = await group(t, "alice", ["carol"]);
  await send(t, "alice", ab, "Crème brûlée tonight?");
  await send(t, "carol", ac, "the CREME of the crop");
  await send(t, "bob", ab, "increment the counter"); // "creme" is inside a word here, not a prefix
  await send(t, "alice", ac, "Deployment done");

  assert.deepEqual(contents(await search(t, "alice", "q=creme")), [
    "the CREME of the crop",
    "Crème brûlée tonight?",
  ]);
  assert.deepEqual(contents(await search(t, "alice", "q=BRUL")), ["Crème brûlée tonight?"]);
  assert.deepEqual(contents(await search(t, "alice", "q=cr%C3%A8me+tonight")), ["Crème brûlée tonight?"]);
  assert.deepEqual(contents(await search(t, "alice", "q=deploy")), ["Deployment done"]);
  assert.deepEqual(contents(await search(t, "alice", "q=nothing")), []);
  // Only the caller's rooms: bob is not in alice–carol.
  assert.deepEqual(contents(await search(t, "bob", "q=creme")), ["Crème brûlée tonight?"]);
  const { messages } = await search(t, "carol", "q=crop");
  assert.equal(messages[0]!.roomId, ac);
  assert.equal(typeof messages[0]!.id, "string");
});

Deno.test("GET /api/chat/search with roomId searches that room, for its active members only", async () => {
  await using t = await setup();
  for (const u of ["alice", "bob", "carol", "dave"]) await t.login(u);
  const one = await group(t, "alice", ["bob", "carol"]);
  const two = await group(t, "alice", ["bob"]);
  await send(t, "alice", one, "budget review");
  await send(t, "alice", two, "budget draft");
  assert.deepEqual(contents(await search(t, "bob", `q=budget&roomId=${one}`)), ["budget review"]);
  assert.equal((await search(t, "bob", "q=budget")).messages.length, 2);
  await expectStatus(await t.api("dave", "GET", `/api/chat/search?q=budget&roomId=${one}`), 403);
  await expectStatus(await t.api("dave", "GET", "/api/chat/search?q=budget&roomId=nope"), 404);
  await expectStatus(await t.api("carol", "DELETE", `/api/chat/rooms/${one}/members/carol`), 200);
  await expectStatus(await t.api("carol", "GET", `/api/chat/search?q=budget&roomId=${one}`), 403);
  assert.deepEqual((await search(t, "carol", "q=budget")).messages, []);
  // Archived rooms stay searchable.
  await expectStatus(await t.api("bob", "POST", `/api/chat/rooms/${two}/archive`, { archived: true }), 200);
  assert.equal((await search(t, "bob", "q=budget")).messages.length, 2);
});

Deno.test("GET /api/chat/search leaves out deleted messages and matches edits by their current text at once", async () => {
  await using t = await setup();
  for (const u of ["alice", "bob"]) await t.login(u);
  const room = await group(t, "alice", ["bob"]);
  const typo = await send(t, "alice", room, "see you tomorow");
  const gone = await send(t, "bob", room, "tomorrow is fine");
  assert.equal((await search(t, "alice", "q=tomor")).messages.length, 2);
  await expectStatus(await t.api("bob", "DELETE", `/api/chat/messages/${gone.id}`), 200);
  await expectStatus(
    await t.api("alice", "PATCH", `/api/chat/messages/${typo.id}`, { content: "see you Friday" }),
    200,
  );
  assert.deepEqual(contents(await search(t, "alice", "q=tomor")), []);
  assert.deepEqual(contents(await search(t, "bob", "q=fri")), ["see you Friday"]);
  await t.runtime.indexer.idle(); // the background indexer has caught up too: same answers
  assert.deepEqual(contents(await search(t, "alice", "q=tomorow")), []);
  assert.deepEqual(contents(await search(t, "alice", "q=friday")), ["see you Friday"]);
});

Deno.test("GET /api/chat/search pages across rooms with nextCursor, without repeats or gaps", async () => {
  await using t = await setup();
  for (const u of ["alice", "bob", "carol"]) await t.login(u);
  const rooms = [
    await group(t, "alice", ["bob"]),
    await group(t, "alice", ["carol"]),
    await group(t, "bob", ["alice"]),
  ];
  const sent: Message[] = [];
  for (let i = 0; i < 27; i++) {
    sent.push(await send(t, "alice", rooms[i % 3]!, `report ${i}${i % 4 === 0 ? "" : " noise"}`));
    if (i % 5 === 0) await send(t, "alice", rooms[i % 3]!, "unrelated chatter");
  }
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await search(t, "alice", `q=report&limit=10${cursor ? `&cursor=${cursor}` : ""}`);
    seen.push(...page.messages.map((m) => m.content));
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  // Newest first; messages of the same millisecond by room id, then seq (all descending).
  const order = (m: Message) => [Date.parse(m.createdAt), m.roomId, m.seq] as const;
  const expected = [...sent].sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return y[0] - x[0] || (x[1] < y[1] ? 1 : x[1] > y[1] ? -1 : 0) || y[2] - x[2];
  });
  assert.deepEqual(seen, expected.map((m) => m.content), "every match once, newest first");
  const both = await search(t, "alice", "q=report+noise&limit=50");
  assert.equal(both.messages.length, sent.filter((m) => m.content.includes("noise")).length);
  assert.equal(both.nextCursor, undefined);
});

Deno.test("GET /api/chat/search validates its query", async () => {
  await using t = await setup();
  await t.login("alice");
  for (
    const query of [
      "",
      "q=",
      "q=%20%20",
      "q=!!!",
      "q=a&limit=0",
      "q=a&limit=51",
      "q=a&cursor=zzz",
      "q=a&roomId=bad%20id",
    ]
  ) {
    const res = await t.api("alice", "GET", `/api/chat/search?${query}`);
    assert.equal(res.status, 400, `${query}: ${await res.text()}`);
  }
  assert.equal((await t.request("/api/chat/search?q=a")).status, 401);
});

Deno.test("GET /api/chat/search reads nothing of rooms the caller is not in", async () => {
  await using t = await setup();
  for (const u of ["alice", "bob", "erin", "frank"]) await t.login(u);
  const busy = await group(t, "alice", ["bob"]);
  const own = await group(t, "erin", ["frank"]);
  for (let i = 0; i < 30; i++) await send(t, i % 2 ? "alice" : "bob", busy, `needle ${i}`);
  await send(t, "frank", own, "needle in erin's room");
  await t.runtime.indexer.idle();

  const touched: string[] = [];
  let ownReads = 0;
  const kv = t.kv as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of ["get", "getMany", "list"]) {
    const original = kv[method]!.bind(t.kv);
    kv[method] = (...args: unknown[]) => {
      const target = JSON.stringify(args[0]);
      if (target.includes(busy)) touched.push(`${method} ${target}`);
      if (target.includes(own)) ownReads++;
      return original(...args);
    };
  }
  try {
    assert.deepEqual(contents(await search(t, "erin", "q=needle")), ["needle in erin's room"]);
  } finally {
    for (const method of ["get", "getMany", "list"]) delete kv[method];
  }
  assert.deepEqual(touched, []);
  assert.ok(ownReads > 0, "the reads of the search were observed");
});
