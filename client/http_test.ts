import assert from "node:assert/strict";
import { ChatApiError, ChatClosedError, ChatNetworkError } from "./errors.ts";
import { HttpClient } from "./http.ts";

/** A server that takes only `Bearer good`, answering with the request it saw. */
function tokenServer() {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if (req.headers.get("Authorization") !== "Bearer good") {
      return Response.json({ error: "Unauthorized" }, { status: 401 });
    }
    const url = new URL(req.url);
    const body = req.body ? await req.json() : undefined;
    return Response.json({ method: req.method, path: url.pathname, query: url.search, body });
  });
}

Deno.test("HttpClient asks token() once more for every call that got a 401 with the same token", async () => {
  await using server = tokenServer();
  const given: string[] = [];
  const http = new HttpClient({
    baseUrl: `http://127.0.0.1:${server.addr.port}/`,
    token: () => (given.push(given.length === 0 ? "stale" : "good"), given.at(-1)!),
    signal: new AbortController().signal,
  });
  const answers = await Promise.all(
    [1, 2, 3, 4, 5].map((i) =>
      http.request("POST", "/api/x", { query: { n: i, skip: undefined }, body: { i } })
    ),
  );
  assert.deepEqual(given, ["stale", "good"]);
  assert.deepEqual(answers[0], { method: "POST", path: "/api/x", query: "?n=1", body: { i: 1 } });
  await http.request("GET", "/api/y");
  assert.equal(given.length, 2);
});

Deno.test("HttpClient rejects with ChatApiError, ChatNetworkError or ChatClosedError", async () => {
  await using server = tokenServer();
  const closing = new AbortController();
  const stuck = new HttpClient({
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    token: "bad",
    signal: closing.signal,
  });
  await assert.rejects(stuck.request("GET", "/api/x"), (e) => e instanceof ChatApiError && e.status === 401);
  const nowhere = new HttpClient({ baseUrl: "http://127.0.0.1:1", token: "good", signal: closing.signal });
  await assert.rejects(nowhere.request("GET", "/api/x"), ChatNetworkError);
  closing.abort();
  await assert.rejects(stuck.request("GET", "/api/x"), ChatClosedError);
});
