/**
 * Fuzz tests: fast-check generates requests for every route of the app (read
 * from `/openapi.json`, plus the routes it does not document) — bodies guided by
 * the documented schemas with wrong types, huge and odd strings, prototype keys
 * and broken JSON mixed in, query strings, content types and tokens (valid,
 * expired, `alg: none`, wrong key, garbage). No response may be a 5xx or hang,
 * every error body is `{error: string}`, non-members never succeed on a room,
 * nothing pollutes the process's prototypes, and the stored data stays
 * consistent afterwards (per room seqs 1..lastSeq, unread totals = sum of the
 * per-room counts, one room-list entry per active member). Every response carries
 * `nosniff`, and a 429 its `Retry-After`. A second test does the same to the embedded gateway
 * over raw WebSockets: random, oversized and malformed frames never crash it, only an oversized
 * frame closes a connection (1009), and no connection or subscription outlives its socket.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { SignJWT } from "jose";
import { memberOf, unreadCount } from "../actors/room_head.ts";
import { keys } from "../storage/keys.ts";
import type { RoomState } from "../storage/records.ts";
import { expectStatus, setup, type TestContext } from "./helpers.ts";
import { eventually, FAST_RETRY, startOutboxServer } from "./support/outbox_harness.ts";
import { rawSocket, socketIdOf } from "./support/raw_socket.ts";

const SECRET = "fuzz-secret-0123456789-abcdefghijklmnop";
const ADMIN_KEY = "fuzz-admin-key-0123456789";
const REQUEST_TIMEOUT_MS = 5000;
const USERS = ["alice", "bob", "carol", "dave"];

/** Strings that have broken parsers, lookups and limits elsewhere. */
const NASTY = [
  "",
  " ",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "null",
  "undefined",
  "NaN",
  "Infinity",
  "-1",
  "0",
  "1.5",
  "1e309",
  "9007199254740993",
  "0x10",
  "../../etc/passwd",
  "%00",
  "%",
  "\u0000",
  "\ud800",
  "🙂",
  "👩‍👩‍👧‍👦",
  "e\u0301",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "${7*7}",
  "{}",
  "[]",
  "a:1",
  ":1",
  "dm_x:0",
  "a".repeat(129),
  "x".repeat(5000),
];

interface Route {
  method: string;
  /** With `{param}` placeholders. */
  path: string;
  query: string[];
  body?: Schema;
  form?: boolean;
}

// deno-lint-ignore no-explicit-any
type Schema = Record<string, any>;

/** Routes the OpenAPI document does not list (web, docs, the gateway), or all of them if it is missing. */
const EXTRA_ROUTES: Route[] = [
  { method: "GET", path: "/", query: [] },
  { method: "GET", path: "/docs", query: [] },
  { method: "GET", path: "/openapi.json", query: [] },
  { method: "GET", path: "/web/{file}", query: [] },
  { method: "GET", path: "/app/{key}", query: ["protocol", "client", "version"] },
  { method: "POST", path: "/apps/{appId}/events", query: ["auth_key", "auth_timestamp", "auth_signature"] },
  { method: "POST", path: "/apps/{appId}/batch_events", query: ["auth_key", "auth_signature"] },
  { method: "PUT", path: "/api/admin/users/{id}", query: [] },
];

const FALLBACK_ROUTES: Route[] = [
  ["GET", "/healthz"],
  ["GET", "/metrics"],
  ["POST", "/api/dev/login"],
  ["POST", "/api/chat/send"],
  ["GET", "/api/chat/rooms", "limit,cursor,archived"],
  ["GET", "/api/chat/messages", "roomId,limit,beforeId,afterSeq"],
  ["POST", "/api/chat/start"],
  ["POST", "/api/chat/read"],
  ["POST", "/api/chat/typing"],
  ["POST", "/api/chat/groups"],
  ["PATCH", "/api/chat/messages/{id}"],
  ["DELETE", "/api/chat/messages/{id}"],
  ["POST", "/api/chat/messages/{id}/reactions"],
  ["POST", "/api/chat/rooms/{id}/members"],
  ["DELETE", "/api/chat/rooms/{id}/members/{userId}"],
  ["PATCH", "/api/chat/rooms/{id}"],
  ["POST", "/api/chat/rooms/{id}/archive"],
  ["GET", "/api/chat/search", "q,roomId,limit,cursor"],
  ["GET", "/api/users/{id}"],
  ["POST", "/api/users/{id}/follow"],
  ["DELETE", "/api/users/{id}/follow"],
  ["POST", "/api/users/{id}/block"],
  ["DELETE", "/api/users/{id}/block"],
  ["GET", "/api/notifications", "limit,before"],
  ["POST", "/api/notifications/read"],
  ["GET", "/api/me"],
  ["GET", "/api/me/preferences"],
  ["PUT", "/api/me/preferences"],
  ["POST", "/api/pusher/auth"],
  ["POST", "/api/pusher/webhook"],
  ["GET", "/api/realtime/config"],
].map(([method, path, query]) => ({ method: method!, path: path!, query: query ? query.split(",") : [] }));

/** The routes of the app: every operation of `/openapi.json` (or the fallback list), plus the extras. */
async function readRoutes(t: TestContext): Promise<{ routes: Route[]; schemas: Record<string, Schema> }> {
  const res = await t.request("/openapi.json");
  if (res.status !== 200) {
    await res.body?.cancel();
    return { routes: [...FALLBACK_ROUTES, ...EXTRA_ROUTES], schemas: {} };
  }
  const doc = await res.json();
  const routes: Route[] = [];
  for (const [path, operations] of Object.entries<Schema>(doc.paths)) {
    for (const [method, op] of Object.entries<Schema>(operations)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const content = op.requestBody?.content ?? {};
      routes.push({
        method: method.toUpperCase(),
        path,
        query: (op.parameters ?? []).filter((p: Schema) => p.in === "query").map((p: Schema) => p.name),
        body: content["application/json"]?.schema ?? content["application/x-www-form-urlencoded"]?.schema,
        form: !content["application/json"] && Boolean(content["application/x-www-form-urlencoded"]),
      });
    }
  }
  const documented = new Set(routes.map((r) => `${r.method} ${r.path}`));
  for (const extra of EXTRA_ROUTES) if (!documented.has(`${extra.method} ${extra.path}`)) routes.push(extra);
  return { routes, schemas: doc.components?.schemas ?? {} };
}

/** State the fuzz starts from: users, a group, a direct room with messages, and tokens of every kind. */
async function seed(t: TestContext) {
  const tokens = new Map<string, string>();
  for (const u of USERS) tokens.set(u, await t.login(u));
  const group = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "Fuzz", memberIds: ["bob", "carol"] }),
    200,
  );
  const messageIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const sent = await expectStatus<{ message: { id: string; roomId: string } }>(
      await t.api(USERS[i]!, "POST", "/api/chat/send", { roomId: group.roomId, content: `hello ${i}` }),
      200,
    );
    messageIds.push(sent.message.id);
  }
  const direct = await expectStatus<{ message: { id: string; roomId: string } }>(
    await t.api("alice", "POST", "/api/chat/send", { receiverId: "dave", content: "hi dave" }),
    200,
  );
  messageIds.push(direct.message.id);
  const key = new TextEncoder().encode(SECRET);
  const sign = (payload: Record<string, unknown>, exp: number | null, secret = key, alg = "HS256") => {
    const jwt = new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" }).setIssuedAt();
    if (exp !== null) jwt.setExpirationTime(exp);
    return jwt.sign(secret);
  };
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v: unknown) =>
    btoa(JSON.stringify(v)).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
  const badTokens = [
    await sign({ sub: "alice" }, now - 60), // expired
    await sign({ sub: "alice" }, null), // no exp
    await sign({ sub: "alice" }, now + 600, new TextEncoder().encode("another-secret-0123456789-abcdefgh")),
    await sign({ sub: "alice" }, now + 600, key, "HS512"),
    `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "alice", exp: now + 600 })}.`,
    await sign({ sub: "bad id with spaces" }, now + 600),
    await sign({ sub: "a".repeat(200) }, now + 600),
    await sign({ sub: 42 }, now + 600),
    await sign({}, now + 600),
    "not.a.jwt",
    "",
  ];
  // Valid signatures for users nobody created yet: they come into existence by calling.
  const newcomers = await Promise.all(
    ["newcomer", "x=y@z.;,-"].map((sub) => sign({ sub, name: "N" }, now + 600)),
  );
  return {
    tokens,
    validTokens: [...tokens.values(), ...newcomers],
    badTokens,
    groupId: group.roomId,
    directId: direct.message.roomId,
    messageIds,
  };
}

type Seeded = Awaited<ReturnType<typeof seed>>;

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** The signed-in user, when the token is valid. */
  userId?: string;
  /** The room the request targets, if any. */
  roomId?: string;
}

function arbitraries(routes: Route[], schemas: Record<string, Schema>, s: Seeded) {
  const rooms = [s.groupId, s.directId];
  const ids = [...USERS, ...rooms, ...s.messageIds, "nobody"];
  const nasty = fc.constantFrom(...NASTY);
  const anyString = fc.oneof(
    { arbitrary: nasty, weight: 3 },
    { arbitrary: fc.constantFrom(...ids), weight: 3 },
    { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
    { arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }), weight: 1 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 20 }), weight: 1 },
  );
  const anyNumber = fc.oneof(
    fc.integer(),
    fc.constantFrom(0, -1, 1, 50, 100, 101, 2 ** 31, 2 ** 53, -(2 ** 53), 1.5, 1e308),
    fc.double(),
  );
  const wrong = fc.oneof(fc.anything({ maxDepth: 2 }), nasty, anyNumber, fc.constant(null), fc.boolean());
  /** Plausible values by field name, so that well-formed requests reach the actors. */
  const byName = (name: string): fc.Arbitrary<unknown> | undefined => {
    if (/^roomIds?$/.test(name)) return fc.constantFrom(...rooms, "nobody");
    if (/^(receiverId|userId|userIds|memberIds|memberId|id)$/.test(name)) {
      return fc.constantFrom(...USERS, "nobody");
    }
    if (/^(messageIds?|replyToId|beforeId)$/.test(name)) return fc.constantFrom(...s.messageIds);
    if (name === "emoji") {
      return fc.constantFrom("👍", "🙂", ":+1:", "👩‍👩‍👧‍👦", "__proto__", "constructor", "toString");
    }
    if (name === "content" || name === "name") {
      return fc.oneof(
        fc.string({ minLength: 1, maxLength: 60 }),
        nasty,
        fc.string({ unit: "grapheme", minLength: 1 }),
      );
    }
    return undefined;
  };
  const resolve = (schema: Schema): Schema => {
    let out = schema ?? {};
    for (let i = 0; i < 10 && typeof out.$ref === "string"; i++) {
      out = schemas[out.$ref.split("/").pop()!] ?? {};
    }
    return out;
  };
  /** A value for `schema`: well-formed (`exact`) or, one time in seven per field, of a wrong type. */
  const valueFor = (raw: Schema, depth: number, exact: boolean, name = ""): fc.Arbitrary<unknown> => {
    const schema = resolve(raw);
    let right: fc.Arbitrary<unknown>;
    const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== "null") : schema.type;
    const named = exact ? byName(name) : undefined;
    if (Array.isArray(schema.enum)) right = fc.constantFrom(...schema.enum);
    else if (Array.isArray(schema.anyOf ?? schema.oneOf)) {
      right = fc.oneof(
        ...(schema.anyOf ?? schema.oneOf).map((x: Schema) => valueFor(x, depth + 1, exact, name)),
      );
    } else if (type === "string") right = named ?? anyString;
    else if (type === "integer" || type === "number") {
      right = exact
        ? fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 200, 1e9) })
        : anyNumber;
    } else if (type === "boolean") right = fc.boolean();
    else if (type === "array") {
      right = depth > 2
        ? fc.constant([])
        : named
        ? fc.array(named, { minLength: 1, maxLength: 3 })
        : fc.array(valueFor(schema.items ?? {}, depth + 1, exact, name), { maxLength: 5 });
    } else if (type === "object" || schema.properties) {
      if (depth > 2) right = fc.constant({});
      else if (exact) right = exactObject(schema, depth);
      else {
        const props = Object.entries<Schema>(schema.properties ?? {});
        const record = fc.record(
          Object.fromEntries(props.map(([k, v]) => [k, valueFor(v, depth + 1, false, k)])),
          { requiredKeys: [] },
        );
        const extra = fc.dictionary(
          fc.oneof(nasty, fc.string({ maxLength: 8 })),
          fc.jsonValue({ maxDepth: 1 }),
          {
            maxKeys: 2,
          },
        );
        right = fc.tuple(record, extra, fc.nat(5)).map(([r, e, n]) => (n === 0 ? { ...e, ...r } : r));
      }
    } else right = fc.jsonValue({ maxDepth: 2 });
    return exact ? fc.oneof({ arbitrary: right, weight: 30 }, { arbitrary: wrong, weight: 1 }) : fc.oneof(
      { arbitrary: right, weight: 6 },
      { arbitrary: wrong, weight: 1 },
    );
  };
  /**
   * A well-formed object: required keys and `content` always, each other key one
   * time in four, and one of `roomId` / `receiverId` when the schema has both.
   */
  const exactObject = (schema: Schema, depth: number): fc.Arbitrary<unknown> => {
    const props = Object.entries<Schema>(schema.properties ?? {});
    const required = new Set<string>([...(schema.required ?? []), "content"]);
    const either = schema.properties?.roomId && schema.properties?.receiverId;
    const fields = props.map(([k, v]) => {
      const value = valueFor(v, depth + 1, true, k);
      if (required.has(k) || (either && (k === "roomId" || k === "receiverId"))) {
        return value.map((x) => [k, x]);
      }
      return fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: value, weight: 1 }).map((
        x,
      ) => [k, x]);
    });
    return fc.tuple(
      fc.tuple(...fields),
      fc.constantFrom("roomId", "receiverId", "roomId", "receiverId", "both"),
    )
      .map(([entries, pick]) => {
        const out: Record<string, unknown> = {};
        for (const [k, x] of entries as [string, unknown][]) {
          if (x === undefined) continue;
          if (either && pick !== "both" && (k === "roomId" || k === "receiverId") && k !== pick) continue;
          out[k] = x;
        }
        return out;
      });
  };
  const huge = fc.constantFrom("x".repeat(70 * 1024), JSON.stringify({ content: "y".repeat(66 * 1024) }));
  const brokenJson = fc.constantFrom(
    '{"content":',
    "{",
    "[",
    "nul",
    '{"a":1}}',
    "\u0000",
    '"just a string"',
    "1e999",
  );
  const pollution = fc.constantFrom(
    '{"__proto__":{"polluted":true},"content":"p","roomId":"ROOM"}',
    '{"constructor":{"prototype":{"polluted":true}},"content":"c"}',
    '{"__proto__":null}',
  );
  const token = fc.oneof(
    { arbitrary: fc.constantFrom(...s.validTokens), weight: 10 },
    { arbitrary: fc.constantFrom(...s.badTokens), weight: 2 },
    { arbitrary: fc.string({ maxLength: 60 }), weight: 1 },
  );
  const authorization = fc.oneof(
    { arbitrary: token.map((t) => `Bearer ${t}`), weight: 12 },
    { arbitrary: fc.constant(undefined), weight: 1 },
    {
      arbitrary: fc.constantFrom(s.validTokens[0]!).chain((t) =>
        fc.constantFrom(
          `bearer ${t}`,
          `Bearer  ${t}`,
          `Bearer ${t} extra`,
          `Token ${t}`,
          "Basic YWxpY2U6cHc=",
          "Bearer",
        )
      ),
      weight: 1,
    },
  );
  const contentType = fc.constantFrom(
    "application/json",
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=zz",
    "application/xml",
    "",
  );
  const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];
  /** A path parameter: the kind of id the route expects, most of the time. */
  const paramFor = (route: Route, exact: boolean) => {
    const pool = route.path.startsWith("/api/chat/messages/")
      ? s.messageIds
      : route.path.startsWith("/api/chat/rooms/")
      ? rooms
      : USERS;
    return exact ? fc.oneof({ arbitrary: fc.constantFrom(...pool), weight: 9 }, anyString) : anyString;
  };

  const wellFormed = fc.constantFrom(...routes.filter((r) => r.path.startsWith("/api/"))).chain((route) =>
    fc.record({
      params: fc.tuple(paramFor(route, true), fc.constantFrom(...USERS)),
      query: fc.record(
        Object.fromEntries(
          route.query.map((q) => [q, (byName(q) ?? fc.integer({ min: 1, max: 100 })).map(String)]),
        ),
        { requiredKeys: [] },
      ),
      token: fc.constantFrom(...s.tokens.values()),
      body: valueFor(route.body ?? { type: "object" }, 0, true),
    }).map((g): FuzzRequest => {
      const params = [...g.params];
      const path = route.path.replace(
        /\{[^}]+\}/g,
        () => encodeURIComponent(String(params.shift()).toWellFormed()),
      );
      const search = new URLSearchParams(g.query as Record<string, string>).toString();
      const body = route.method === "GET" || route.method === "DELETE" ? undefined : JSON.stringify(g.body);
      const authorization = `Bearer ${g.token}`;
      return {
        method: route.method,
        url: `http://localhost${path}${search ? `?${search}` : ""}`,
        headers: {
          Authorization: authorization,
          ...(body === undefined
            ? {}
            : { "Content-Type": route.form ? "application/x-www-form-urlencoded" : "application/json" }),
        },
        ...(body === undefined ? {} : { body: route.form ? formOf(body) : body }),
        userId: userOf(authorization, s),
        ...roomOf(route, path, g.query as Record<string, string>, body, s),
      };
    })
  );

  const chaotic = fc.constantFrom(...routes).chain((route) =>
    fc.record({
      method: fc.oneof({ arbitrary: fc.constant(route.method), weight: 9 }, {
        arbitrary: fc.constantFrom(...methods),
        weight: 1,
      }),
      params: fc.array(paramFor(route, false), { minLength: 4, maxLength: 4 }),
      query: fc.dictionary(
        fc.oneof({ arbitrary: fc.constantFrom(...(route.query.length ? route.query : ["x"])), weight: 4 }, {
          arbitrary: fc.oneof(nasty, fc.string({ maxLength: 6 })),
          weight: 1,
        }),
        fc.oneof(anyString, anyNumber.map(String)),
        { maxKeys: 4 },
      ),
      rawQuery: fc.option(fc.string({ maxLength: 30 }), { freq: 6 }),
      authorization,
      adminKey: fc.option(fc.constantFrom(ADMIN_KEY, "wrong", ""), { freq: 3 }),
      contentType,
      body: fc.oneof(
        {
          arbitrary: valueFor(route.body ?? { type: "object" }, 0, false).map((v) =>
            JSON.stringify(v) ?? "null"
          ),
          weight: 8,
        },
        { arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), weight: 1 },
        { arbitrary: brokenJson, weight: 1 },
        { arbitrary: pollution.map((p) => p.replace("ROOM", s.groupId)), weight: 1 },
        { arbitrary: huge, weight: 1 },
        { arbitrary: fc.constant(undefined), weight: 1 },
      ),
      form: fc.boolean(),
    }).map((g): FuzzRequest => {
      let i = 0;
      const path = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(g.params[i++]!.toWellFormed()));
      const search = new URLSearchParams(g.query).toString();
      const url = `http://localhost${path}${
        g.rawQuery !== null ? `?${g.rawQuery}` : search ? `?${search}` : ""
      }`;
      const headers: Record<string, string> = {};
      if (g.authorization !== undefined) headers.Authorization = g.authorization;
      if (g.adminKey !== null) headers["X-Admin-Key"] = g.adminKey;
      let body = g.body;
      if (
        body !== undefined && (route.form || g.form) && g.contentType === "application/x-www-form-urlencoded"
      ) {
        body = formOf(body);
      }
      if (body !== undefined && g.contentType) headers["Content-Type"] = g.contentType;
      const hasBody = body !== undefined && !["GET", "HEAD"].includes(g.method);
      const userId = userOf(g.authorization, s);
      return {
        method: g.method,
        url,
        headers,
        ...(hasBody ? { body } : {}),
        ...(userId ? { userId } : {}),
        ...roomOf(route, path, g.query, body, s),
      };
    })
  );
  // Chat actions with valid shapes, so that the fuzz drives real state changes to check afterwards.
  const messageId = fc.tuple(fc.constantFrom(...rooms), fc.integer({ min: 1, max: 40 })).map(([r, n]) =>
    `${r}:${n}`
  );
  const user = fc.constantFrom(...USERS);
  const content = fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), nasty.filter((x) => x.trim() !== ""));
  const action = (method: string, path: string, body?: unknown, query = "") => ({
    method,
    path,
    body,
    query,
  });
  const chat = fc.tuple(
    user,
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          to: fc.oneof(
            fc.constantFrom(...rooms).map((roomId) => ({ roomId })),
            user.map((receiverId) => ({ receiverId })),
          ),
          content,
          clientMessageId: fc.option(fc.constantFrom("c1", "c2", "c3", "__proto__", "constructor"), {
            freq: 2,
          }),
          replyToId: fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, {
            arbitrary: messageId,
            weight: 1,
          }),
        }).map(({ to, clientMessageId, replyToId, content }) =>
          action("POST", "/api/chat/send", {
            ...to,
            content,
            ...(clientMessageId === null ? {} : { clientMessageId }),
            ...(replyToId === null ? {} : { replyToId }),
          })
        ),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(fc.constantFrom(...rooms), fc.option(messageId, { freq: 3 })).map((
          [roomId, id],
        ) => action("POST", "/api/chat/read", { roomId, ...(id === null ? {} : { messageIds: [id] }) })),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(fc.constantFrom(...rooms), fc.constantFrom("", "&afterSeq=2", "&beforeId="))
          .chain((
            [roomId, q],
          ) =>
            messageId.map((id) =>
              action(
                "GET",
                "/api/chat/messages",
                undefined,
                `roomId=${roomId}${q}${q.endsWith("=") ? id : ""}`,
              )
            )
          ),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(messageId, content).map(([id, c]) =>
          action("PATCH", `/api/chat/messages/${id}`, { content: c })
        ),
      },
      { weight: 1, arbitrary: messageId.map((id) => action("DELETE", `/api/chat/messages/${id}`)) },
      {
        weight: 2,
        arbitrary: fc.tuple(
          messageId,
          fc.constantFrom("👍", "🙂", ":+1:", "__proto__", "constructor", "toString"),
        )
          .map(([id, emoji]) => action("POST", `/api/chat/messages/${id}/reactions`, { emoji })),
      },
      {
        weight: 1,
        arbitrary: fc.array(fc.constantFrom(...USERS, "nobody", "__proto__", "constructor"), {
          minLength: 1,
          maxLength: 3,
        })
          .map((userIds) => action("POST", `/api/chat/rooms/${s.groupId}/members`, { userIds })),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(...USERS, "__proto__", "constructor").map((id) =>
          action("DELETE", `/api/chat/rooms/${s.groupId}/members/${id}`)
        ),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom(...rooms), fc.boolean()).map(([id, archived]) =>
          action("POST", `/api/chat/rooms/${id}/archive`, { archived })
        ),
      },
      { weight: 1, arbitrary: fc.constant(action("GET", "/api/chat/rooms", undefined, "archived=false")) },
    ),
  ).map(([userId, a]): FuzzRequest => {
    const body = a.body === undefined ? undefined : JSON.stringify(a.body);
    const authorization = `Bearer ${s.tokens.get(userId)}`;
    const route: Route = {
      method: a.method,
      path: a.path.replace(/\/api\/chat\/rooms\/[^/]+/, "/api/chat/rooms/{id}"),
      query: [],
    };
    const query = Object.fromEntries(new URLSearchParams(a.query));
    return {
      method: a.method,
      url: `http://localhost${a.path}${a.query ? `?${a.query}` : ""}`,
      headers: {
        Authorization: authorization,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body }),
      userId,
      ...roomOf(route, a.path, query, body, s),
    };
  });
  return fc.oneof({ arbitrary: wellFormed, weight: 2 }, { arbitrary: chat, weight: 3 }, {
    arbitrary: chaotic,
    weight: 3,
  });
}

/** A JSON object body as a form, or the text as it is. */
function formOf(body: string): string {
  try {
    const value = JSON.parse(body);
    if (value && typeof value === "object") {
      return new URLSearchParams(Object.entries(value).map(([k, v]) => [k, String(v)])).toString();
    }
  } catch { /* keep the raw text */ }
  return body;
}

/** The user a valid `Authorization` header signs in (only the seeded users' plain tokens). */
function userOf(authorization: string | undefined, s: Seeded): string | undefined {
  const match = /^Bearer (\S+)$/.exec(authorization ?? "");
  if (!match) return undefined;
  for (const [user, token] of s.tokens) if (token === match[1]) return user;
  return undefined;
}

/** The room a room-scoped request targets, when it is one of the seeded rooms. */
function roomOf(
  route: Route,
  path: string,
  query: Record<string, string>,
  body: string | undefined,
  s: Seeded,
) {
  const known = [s.groupId, s.directId];
  let roomId: unknown;
  if (route.path.startsWith("/api/chat/rooms/{id}")) roomId = decodeURIComponent(path.split("/")[4] ?? "");
  else if (route.path === "/api/chat/messages") roomId = query.roomId;
  else if (["/api/chat/send", "/api/chat/read", "/api/chat/typing"].includes(route.path)) {
    try {
      roomId = JSON.parse(body ?? "null")?.roomId;
    } catch { /* not JSON */ }
  }
  return typeof roomId === "string" && known.includes(roomId) ? { roomId } : {};
}

/**
 * Whether the user may act in the room: reads need to be or have been a member
 * (those who left keep the history up to their leave), everything else an active
 * member. Also the room's last seq before the request, and whether the user was ever in it.
 */
async function mayUseRoom(
  kv: Deno.Kv,
  req: FuzzRequest,
): Promise<{ allowed: boolean; former: boolean; lastSeq: number }> {
  const head = (await kv.get<RoomState>(keys.room(req.roomId!))).value;
  const member = head === null ? undefined : memberOf(head, req.userId!);
  const lastSeq = head?.lastSeq ?? 0;
  if (member === undefined) return { allowed: false, former: false, lastSeq };
  return { allowed: req.method === "GET" || member.leftSeq === undefined, former: true, lastSeq };
}

/**
 * Whether a refused user's success is one the contract allows: a CORS preflight
 * (it does nothing), or a former member's retry of a send they made while a
 * member, which returns the message that send stored and creates nothing.
 */
function allowedAnyway(
  req: FuzzRequest,
  access: { former: boolean; lastSeq: number },
  text: string,
): boolean {
  if (req.method === "OPTIONS") return true;
  if (!access.former || !req.url.includes("/api/chat/send")) return false;
  const message = (JSON.parse(text) as { message?: { seq: number; senderId: string } }).message;
  return message !== undefined && message.senderId === req.userId && message.seq <= access.lastSeq;
}

/** Sends one request with a deadline and checks what every response must satisfy. */
async function check(t: TestContext, req: FuzzRequest): Promise<void> {
  let request: Request;
  try {
    request = new Request(req.url, { method: req.method, headers: req.headers, body: req.body });
  } catch {
    return; // not a request a client could send (e.g. a header value with a newline)
  }
  const access = req.userId && req.roomId ? await mayUseRoom(t.kv, req) : undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no response within ${REQUEST_TIMEOUT_MS} ms`)),
      REQUEST_TIMEOUT_MS,
    );
  });
  const res = await Promise.race([t.runtime.app.request(request), timeout]).finally(() =>
    clearTimeout(timer)
  );
  const text = req.method === "HEAD" ? "" : await res.text();
  const what = `${req.method} ${req.url.slice(0, 300)} → ${res.status} ${text.slice(0, 300)}`;
  assert.ok(res.status < 500, `5xx: ${what}`);
  assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff", `no nosniff: ${what}`);
  if (res.status === 429) {
    assert.match(
      res.headers.get("Retry-After") ?? "",
      /^\d+$/,
      `429 without a Retry-After in seconds: ${what}`,
    );
  }
  if (res.status >= 400 && req.method !== "HEAD") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      assert.fail(`error body is not JSON: ${what}`);
    }
    assert.ok(
      parsed !== null && typeof parsed === "object" &&
        typeof (parsed as { error?: unknown }).error === "string",
      `error body is not {error: string}: ${what}`,
    );
  }
  if (access?.allowed === false && res.status < 400) {
    assert.ok(
      allowedAnyway(req, access, text),
      `a non-member (${req.userId}) succeeded on room ${req.roomId}: ${what}`,
    );
  }
}

/** Per room: message rows are exactly seqs 1..lastSeq; per user: total = Σ room counts; one list entry per member. */
async function checkStore(kv: Deno.Kv): Promise<{ rooms: number; messages: number }> {
  const heads: RoomState[] = [];
  for await (const entry of kv.list<RoomState>({ prefix: ["room"] })) heads.push(entry.value);
  let messages = 0;
  const expectedTotals = new Map<string, number>();
  const expectedEntries = new Set<string>();
  for (const head of heads) {
    const seqs: number[] = [];
    for await (const entry of kv.list({ prefix: keys.messages(head.id) })) seqs.push(entry.key[2] as number);
    assert.deepEqual(seqs, Array.from({ length: head.lastSeq }, (_, i) => i + 1), `room ${head.id} seqs`);
    messages += seqs.length;
    for (const [userId, member] of head.members) {
      expectedTotals.set(userId, (expectedTotals.get(userId) ?? 0) + unreadCount(head, userId));
      if (member.leftSeq === undefined) {
        expectedEntries.add(
          JSON.stringify(keys.userRoom(userId, member.archived, head.lastActivityAt, head.id)),
        );
      }
    }
  }
  for await (const entry of kv.list<Deno.KvU64>({ prefix: ["unread_total"] })) {
    const userId = entry.key[1] as string;
    assert.equal(Number(entry.value.value), expectedTotals.get(userId) ?? 0, `unread total of ${userId}`);
    expectedTotals.delete(userId);
  }
  for (const [userId, total] of expectedTotals) {
    assert.equal(total, 0, `unread total of ${userId} is missing`);
  }
  const entries = new Set<string>();
  for await (const entry of kv.list({ prefix: ["user_rooms"] })) entries.add(JSON.stringify(entry.key));
  assert.deepEqual(
    [...entries].sort(),
    [...expectedEntries].sort(),
    "room-list entries = active memberships",
  );
  return { rooms: heads.length, messages };
}

function ownNames(): string[] {
  return [Object.prototype, Object, Function.prototype, Array.prototype, String.prototype].flatMap((o) =>
    Object.getOwnPropertyNames(o).sort()
  );
}

Deno.test("every route survives fuzzed bodies, queries, headers and tokens, and the store stays consistent", async () => {
  await using t = await setup({ AUTH_JWT_SECRET: SECRET, DEV_LOGIN: "1", ADMIN_API_KEY: ADMIN_KEY });
  const { routes, schemas } = await readRoutes(t);
  assert.ok(routes.length >= 30, `found ${routes.length} routes`);
  const seeded = await seed(t);
  const prototypes = ownNames();
  let requests = 0;
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(arbitraries(routes, schemas, seeded), async (req) => {
      requests++;
      await check(t, req);
    }),
    { numRuns: 4000, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: false },
  );
  assert.deepEqual(ownNames(), prototypes, "no request added properties to built-in prototypes");
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype is not polluted");
  await t.runtime.actors.drain();
  const store = await checkStore(t.kv);
  console.log(
    `${requests} fuzzed requests over ${routes.length} routes in ${
      Math.round(performance.now() - started)
    } ms; ` +
      `store: ${store.rooms} rooms, ${store.messages} messages, consistent`,
  );
});

// Regressions found by the fuzz: ids and emoji were looked up in plain objects (`members[userId]`,
// `reactions[emoji]`), where names of Object.prototype properties resolved to inherited functions.

Deno.test("POST /api/chat/messages/:id/reactions toggles emoji named like Object.prototype members", async () => {
  await using t = await setup();
  await t.login("bob");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "Emoji", memberIds: ["bob"] }),
    200,
  );
  const { message } = await expectStatus<{ message: { id: string } }>(
    await t.api("alice", "POST", "/api/chat/send", { roomId, content: "react to me" }),
    200,
  );
  for (const emoji of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
    const res = await t.api("alice", "POST", `/api/chat/messages/${message.id}/reactions`, { emoji });
    const body = await expectStatus<{ added: boolean; message: { reactions: { emoji: string }[] } }>(
      res,
      200,
    );
    assert.equal(body.added, true, emoji);
    assert.ok(body.message.reactions.some((r) => r.emoji === emoji), emoji);
  }
});

Deno.test("users named like Object.prototype members (constructor, toString, …) are not members of every room", async () => {
  await using t = await setup();
  await t.login("bob");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "Private", memberIds: ["bob"] }),
    200,
  );
  await expectStatus(await t.api("alice", "POST", "/api/chat/send", { roomId, content: "secret" }), 200);
  const before = ownNames();
  for (const outsider of ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"]) {
    const read = await t.api(outsider, "GET", `/api/chat/messages?roomId=${roomId}&afterSeq=0`);
    assert.equal(read.status, 404, `${outsider} reads the room: ${await read.text()}`);
    const send = await t.api(outsider, "POST", "/api/chat/send", { roomId, content: `from ${outsider}` });
    assert.equal(send.status, 404, `${outsider} posts in the room: ${await send.text()}`);
    const remove = await t.api("alice", "DELETE", `/api/chat/rooms/${roomId}/members/${outsider}`);
    assert.ok(remove.status >= 400 && remove.status < 500, `removing ${outsider}: ${remove.status}`);
    await remove.body?.cancel();
  }
  assert.deepEqual(ownNames(), before, "no member fields were written onto built-ins (Object.readSeq, …)");
});

// The embedded gateway, frame by frame: random, oversized and malformed frames from raw sockets
// against a running server.

/** A frame to send: as it is, or one signed for the socket at run time (a subscribe, or the signin). */
type FrameSpec = string | Uint8Array | { signed: number } | { signin: true };

/** The room channels a fuzzed socket gets real signatures for. */
const SIGNED_CHANNELS = (
  roomId: string,
) => [`private-room-${roomId}`, `presence-room-${roomId}`, "private-user-alice"];

/** Frames a client could send: well-formed ones signed right or wrong, and garbage of every kind. */
function gatewayFrames(roomId: string): fc.Arbitrary<FrameSpec[]> {
  const channelName = fc.oneof(
    fc.constantFrom(...SIGNED_CHANNELS(roomId)),
    fc.constantFrom(
      "lobby",
      "private-",
      "presence-",
      "#server-to-user-alice",
      "private-encrypted-x",
      "a".repeat(300),
    ),
    fc.constantFrom(...NASTY),
  );
  const dataValue = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(...NASTY),
    fc.string({ maxLength: 200 }),
  );
  const json = (value: unknown) => JSON.stringify(value) ?? "null";
  const frame: fc.Arbitrary<FrameSpec> = fc.oneof(
    { weight: 3, arbitrary: fc.constant(json({ event: "pusher:ping", data: {} })) },
    { weight: 4, arbitrary: fc.nat(SIGNED_CHANNELS(roomId).length - 1).map((signed) => ({ signed })) },
    {
      weight: 3,
      arbitrary: fc.record({
        channel: channelName,
        auth: fc.option(fc.string({ maxLength: 80 })),
        data: dataValue,
      })
        .map(({ channel, auth, data }) =>
          json({
            event: "pusher:subscribe",
            data: { channel, auth, channel_data: typeof data === "string" ? data : json(data) },
          })
        ),
    },
    {
      weight: 2,
      arbitrary: channelName.map((channel) => json({ event: "pusher:unsubscribe", data: { channel } })),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        event: fc.oneof(
          fc.constantFrom("client-typing", "client-", "client-x".padEnd(300, "x")),
          fc.string(),
        ),
        channel: channelName,
        data: dataValue,
      }).map((f) => json(f)),
    },
    { weight: 1, arbitrary: fc.constant({ signin: true as const }) },
    {
      weight: 1,
      arbitrary: dataValue.map((data) =>
        json({ event: "pusher:signin", data: { auth: "k:x", user_data: data } })
      ),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(json) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 100 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('{"event":', "[]", "null", '{"event":{"__proto__":{"polluted":1}}}'),
    },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY).map((n) => json({ event: n, channel: n, data: n })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "x".repeat(12 * 1024),
        json({ event: "pusher:ping", data: "y".repeat(15_000) }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom("x".repeat(17 * 1024), "🙂".repeat(5000), new Uint8Array(20 * 1024)),
    },
  );
  return fc.array(frame, { minLength: 1, maxLength: 12 });
}

/** Whether a frame is over the gateway's 16 KiB frame limit. */
function oversized(frame: string | Uint8Array): boolean {
  return (typeof frame === "string" ? new TextEncoder().encode(frame).length : frame.length) > 16 * 1024;
}

Deno.test("the gateway survives random, oversized and malformed frames, and nothing leaks", async () => {
  await using t = await startOutboxServer({ PUSHER_CLIENT_EVENTS: "1" }, { outbox: FAST_RETRY });
  await t.login("bob");
  const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/groups", {
    name: "Fuzz",
    memberIds: ["bob"],
  });
  const key = (await t.kv.get<string>(keys.setting("pusher_key"))).value!;
  const prototypes = ownNames();
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(gatewayFrames(roomId), async (specs) => {
      runs++;
      const socket = rawSocket(`ws://127.0.0.1:${t.port}/app/${key}?protocol=7`);
      try {
        const socketId = await socketIdOf(socket);
        const sign = (channel: string) =>
          t.ok<Record<string, string>>("alice", "POST", "/api/pusher/auth", {
            socket_id: socketId,
            channel_name: channel,
          });
        const frames: (string | Uint8Array)[] = [];
        for (const spec of specs) {
          if (typeof spec === "string" || spec instanceof Uint8Array) frames.push(spec);
          else if ("signin" in spec) {
            const data = await t.ok("alice", "POST", "/api/pusher/user-auth", { socket_id: socketId });
            frames.push(JSON.stringify({ event: "pusher:signin", data }));
          } else {
            const channel = SIGNED_CHANNELS(roomId)[spec.signed]!;
            frames.push(
              JSON.stringify({ event: "pusher:subscribe", data: { channel, ...await sign(channel) } }),
            );
          }
        }
        for (const frame of frames) {
          if (socket.ws.readyState !== WebSocket.OPEN) break;
          socket.send(frame);
        }
        const answered = await Promise.race([
          socket.roundTrip().then(() => true, () => false),
          socket.closed.then(() => false),
        ]);
        if (!answered) {
          // 1009, or no code at all when our later frames met the closed socket (a reset).
          const { code } = await socket.closed;
          assert.ok([1009, 1006, 0].includes(code), `closed with ${code}`);
          assert.ok(frames.some(oversized), "only an oversized frame closes the connection");
        }
      } finally {
        socket.ws.close();
        await socket.closed;
      }
    }),
    { numRuns: 500, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false },
  );
  await eventually(() => t.runtime.gateway!.stats().connections === 0, "every socket released");
  assert.deepEqual(t.runtime.gateway!.stats(), {
    connections: 0,
    channels: 0,
    subscriptions: 0,
    droppedSlowSockets: 0,
  });
  assert.deepEqual(ownNames(), prototypes, "no frame added properties to built-in prototypes");
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype is not polluted");
  const health = await fetch(`${t.url}/healthz`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  console.log(`${runs} fuzzed sockets against the gateway; nothing left open`);
});
