/**
 * The OpenAPI document against the server: every documented operation is called with a
 * valid request, with bad input, without a token and with a bad one, and each answer must
 * have a documented status and a body that validates against the documented JSON schema.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { setup, type TestContext } from "./helpers.ts";

type Schema = Record<string, unknown>;
type Document = {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas?: Record<string, Schema>;
    securitySchemes?: Record<string, Schema>;
    responses?: Record<string, Schema>;
  };
  tags?: { name: string }[];
};
type Operation = {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }>; required?: boolean };
  responses: Record<
    string,
    { $ref?: string; description: string; content?: Record<string, { schema: Schema }> }
  >;
};

const MALFORMED_REQUEST = "#/components/responses/MalformedRequest";

const ADMIN_KEY = "admin-key-for-openapi-tests";
const PUSHER = {
  PUSHER_APP_ID: "4242",
  PUSHER_KEY: "openapi-test-key",
  PUSHER_SECRET: "openapi-test-secret",
};
const ENV = { ADMIN_API_KEY: ADMIN_KEY, ...PUSHER };
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

// ---- A small JSON Schema (2020-12 subset) validator ----------------------------------------------

/** Every way `value` breaks `schema`, as `"<json path>: <problem>"`; empty when it conforms. */
function validate(doc: Document, schema: Schema, value: unknown, at = "$"): string[] {
  if (typeof schema.$ref === "string") return validate(doc, resolveRef(doc, schema.$ref), value, at);
  const errors: string[] = [];
  const fail = (problem: string) => errors.push(`${at}: ${problem}`);
  if ("const" in schema && !deepEqual(schema.const, value)) fail(`must be ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.some((v) => deepEqual(v, value))) {
    fail(`must be one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`);
  }
  if (Array.isArray(schema.allOf)) {
    for (const s of schema.allOf) {
      errors.push(...validate(doc, s, value, at));
    }
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key];
    if (!Array.isArray(options)) continue;
    const passing = options.filter((s) => validate(doc, s, value, at).length === 0).length;
    if (passing === 0 || (key === "oneOf" && passing > 1)) {
      fail(`must match ${key === "oneOf" ? "exactly " : ""}one of ${key}`);
    }
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string];
    if (!types.some((t) => hasType(value, t))) {
      fail(`must be ${types.join(" or ")}, got ${JSON.stringify(value)?.slice(0, 80)}`);
      return errors;
    }
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && [...value].length < schema.minLength) fail("too short");
    if (typeof schema.maxLength === "number" && [...value].length > schema.maxLength) fail("too long");
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) {
      fail(`must match ${schema.pattern}`);
    }
    if (schema.format === "date-time" && Number.isNaN(Date.parse(value))) fail("must be a date-time");
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) fail(`must be ≥ ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum) fail(`must be ≤ ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) fail("too few items");
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) fail("too many items");
    if (schema.items && typeof schema.items === "object") {
      value.forEach((item, i) => errors.push(...validate(doc, schema.items as Schema, item, `${at}[${i}]`)));
    }
  }
  if (isObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) if (!(name in value)) fail(`missing ${name}`);
    for (const [name, item] of Object.entries(value)) {
      if (name in properties) errors.push(...validate(doc, properties[name]!, item, `${at}.${name}`));
      else if (schema.additionalProperties === false) fail(`unexpected property ${name}`);
      else if (isObject(schema.additionalProperties)) {
        errors.push(...validate(doc, schema.additionalProperties, item, `${at}.${name}`));
      }
    }
  }
  return errors;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    default:
      throw new TypeError(`unknown JSON schema type ${type}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function resolveRef(doc: Document, ref: string): Schema {
  const target = ref.replace(/^#\//, "").split("/").reduce<unknown>(
    (node, key) => (node as Record<string, unknown> | undefined)?.[key],
    doc,
  );
  if (!isObject(target)) throw new Error(`unresolved $ref ${ref}`);
  return target;
}

Deno.test("validate() accepts conforming values and names each violation", () => {
  const doc = {
    components: {
      schemas: { P: { type: "object", required: ["id"], properties: { id: { type: "string" } } } },
    },
  };
  const schema = {
    type: "object",
    required: ["n", "p"],
    properties: {
      n: { type: "integer", minimum: 1 },
      p: { $ref: "#/components/schemas/P" },
      t: { type: ["string", "null"], format: "date-time" },
      k: { type: "string", enum: ["a", "b"] },
    },
  };
  const d = doc as unknown as Document;
  assert.deepEqual(validate(d, schema, { n: 2, p: { id: "x" }, t: null, k: "a" }), []);
  assert.deepEqual(validate(d, schema, { n: 0, p: {}, t: "nope", k: "c" }), [
    "$.n: must be ≥ 1",
    "$.p: missing id",
    "$.t: must be a date-time",
    '$.k: must be one of ["a","b"], got "c"',
  ]);
  assert.deepEqual(validate(d, schema, []), ["$: must be object, got []"]);
});

// ---- The server and its document -----------------------------------------------------------------

async function loadDocument(t: TestContext): Promise<Document> {
  const res = await t.request("/openapi.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /application\/json/);
  return await res.json();
}

function operations(doc: Document): { method: string; path: string; op: Operation; key: string }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({
      method,
      path,
      op: item[method]!,
      key: `${method.toUpperCase()} ${path}`,
    }))
  );
}

let fixtureCount = 0;

/**
 * Fresh objects for one call, with users of their own (so one operation, such as a block,
 * cannot affect the next): a direct room with a message each way, and a group owned by `a`.
 */
async function fixtures(t: TestContext) {
  const n = ++fixtureCount;
  const users = { a: `alice${n}`, b: `bob${n}`, c: `carol${n}`, d: `dave${n}` };
  for (const id of Object.values(users)) await t.login(id);
  const send = async (from: string, body: Record<string, unknown>) => {
    const res = await t.api(from, "POST", "/api/chat/send", body);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()).message as { id: string; roomId: string; seq: number };
  };
  const mine = await send(users.a, { receiverId: users.b, content: "hello bob" });
  const theirs = await send(users.b, { receiverId: users.a, content: "hello alice" });
  const res = await t.api(users.a, "POST", "/api/chat/groups", {
    name: "Team",
    memberIds: [users.b, users.c],
  });
  const groupId = (await res.json()).roomId as string;
  // An upload waiting for its bytes, and one sent in a message (with the link to download it).
  const upload = async () => {
    const body = { roomId: mine.roomId, name: "a.bin", contentType: "application/octet-stream", size: 5 };
    const created = await t.api(users.a, "POST", "/api/chat/uploads", body);
    assert.equal(created.status, 201, await created.clone().text());
    const { upload, put } = await created.json();
    return { id: upload.id as string, put: put as { url: string; headers: Record<string, string> } };
  };
  const pending = await upload();
  const attached = await upload();
  const stored = await t.request(attached.put.url, {
    method: "PUT",
    headers: attached.put.headers,
    body: "12345",
  });
  assert.equal(stored.status, 200, await stored.clone().text());
  const sent = await send(users.a, { roomId: mine.roomId, type: "file", uploadId: attached.id });
  const link = new URL((sent as unknown as { attachmentUrl: string }).attachmentUrl, "http://localhost");
  const uploads = {
    pending: {
      id: pending.id,
      query: Object.fromEntries(new URL(pending.put.url, "http://localhost").searchParams),
    },
    attached: { id: attached.id, query: Object.fromEntries(link.searchParams) },
  };
  return { users, directId: mine.roomId, mine, theirs, groupId, uploads };
}

type Fixtures = Awaited<ReturnType<typeof fixtures>>;

/** A valid request for one operation: path parameters, query, body, and whom to call as. */
interface Example {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** A raw body with its own headers (the Pusher webhook). */
  raw?: { body: string; headers: Record<string, string> };
  as?: string;
}

/** Valid requests, by operation; anything not listed is built from its schema. */
const EXAMPLES: Record<string, (f: Fixtures) => Example> = {
  "POST /api/dev/login": () => ({ body: { userId: "dave", name: "Dave" } }),
  "PUT /api/admin/users/{id}": () => ({ params: { id: "erin" }, body: { name: "Erin" } }),
  "POST /api/chat/send": (f) => ({ body: { roomId: f.groupId, content: "hi team", clientMessageId: "c1" } }),
  "GET /api/chat/rooms": () => ({ query: { limit: "10" } }),
  "GET /api/chat/messages": (f) => ({ query: { roomId: f.directId, limit: "10" } }),
  "POST /api/chat/start": (f) => ({ body: { receiverId: f.users.c } }),
  "POST /api/chat/read": (f) => ({ body: { roomId: f.directId, messageIds: [f.theirs.id] } }),
  "POST /api/chat/typing": (f) => ({ body: { roomId: f.directId, isTyping: true } }),
  "POST /api/chat/groups": (f) => ({ body: { name: "Lunch", memberIds: [f.users.b] } }),
  "PATCH /api/chat/messages/{id}": (f) => ({ params: { id: f.mine.id }, body: { content: "edited" } }),
  "DELETE /api/chat/messages/{id}": (f) => ({ params: { id: f.mine.id } }),
  "POST /api/chat/messages/{id}/reactions": (f) => ({ params: { id: f.theirs.id }, body: { emoji: "👍" } }),
  "POST /api/chat/rooms/{id}/members": (f) => ({ params: { id: f.groupId }, body: { userIds: [f.users.d] } }),
  "DELETE /api/chat/rooms/{id}/members/{userId}": (f) => ({ params: { id: f.groupId, userId: f.users.c } }),
  "PATCH /api/chat/rooms/{id}": (f) => ({ params: { id: f.groupId }, body: { name: "Renamed" } }),
  "POST /api/chat/rooms/{id}/archive": (f) => ({ params: { id: f.directId }, body: { archived: true } }),
  "GET /api/chat/search": () => ({ query: { q: "hello" } }),
  "POST /api/chat/uploads": (f) => ({
    body: { roomId: f.directId, name: "photo.png", contentType: "image/png", size: 48213 },
  }),
  "PUT /api/chat/uploads/{id}/content": (f) => ({
    params: { id: f.uploads.pending.id },
    query: f.uploads.pending.query,
    raw: { body: "12345", headers: { "Content-Type": "application/octet-stream" } },
  }),
  "GET /api/chat/uploads/{id}/content": (f) => ({
    params: { id: f.uploads.attached.id },
    query: f.uploads.attached.query,
  }),
  "POST /api/pusher/auth": (f) => ({
    body: { socket_id: "1234.5678", channel_name: `private-user-${f.users.a}` },
  }),
  "POST /api/pusher/webhook": () => {
    const body = JSON.stringify({
      time_ms: Date.now(),
      events: [{ name: "channel_occupied", channel: "private-user-bob" }],
    });
    const signature = createHmac("sha256", PUSHER.PUSHER_SECRET).update(body).digest("hex");
    return {
      raw: {
        body,
        headers: {
          "Content-Type": "application/json",
          "X-Pusher-Key": PUSHER.PUSHER_KEY,
          "X-Pusher-Signature": signature,
        },
      },
    };
  },
};

/** Values for path parameters and body fields by name, for operations without an example. */
function valueFor(name: string, f: Fixtures, path: string): unknown {
  if (name === "id") {
    if (path.startsWith("/api/users/")) return f.users.b;
    if (path.startsWith("/api/chat/messages/")) return f.mine.id;
    if (path.startsWith("/api/chat/rooms/")) return f.groupId;
  }
  const known: Record<string, unknown> = {
    userId: f.users.b,
    receiverId: f.users.b,
    roomId: f.directId,
    content: "hello",
    name: "Name",
    emoji: "👍",
    userIds: [f.users.d],
    memberIds: [f.users.b],
    isTyping: true,
    archived: true,
  };
  return known[name];
}

/** A value that satisfies `schema`, preferring names we know make sense here. */
function generate(doc: Document, schema: Schema, f: Fixtures, path: string, name = ""): unknown {
  if (typeof schema.$ref === "string") return generate(doc, resolveRef(doc, schema.$ref), f, path, name);
  const known = valueFor(name, f, path);
  if (known !== undefined) return known;
  if ("example" in schema) return schema.example;
  if ("default" in schema) return schema.default;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (union) return generate(doc, union[0]!, f, path, name);
  const type = Array.isArray(schema.type) ? (schema.type as string[]).find((t) => t !== "null") : schema.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      for (const key of (schema.required ?? []) as string[]) {
        out[key] = generate(doc, properties[key] ?? {}, f, path, key);
      }
      return out;
    }
    case "array":
      return [generate(doc, (schema.items ?? {}) as Schema, f, path)];
    case "integer":
    case "number":
      return (schema.minimum as number | undefined) ?? 1;
    case "boolean":
      return true;
    default:
      return "x".repeat(Math.max(1, (schema.minLength as number | undefined) ?? 1));
  }
}

function exampleFor(doc: Document, entry: ReturnType<typeof operations>[number], f: Fixtures): Example {
  const curated = EXAMPLES[entry.key];
  if (curated) return curated(f);
  const params: Record<string, string> = {};
  const query: Record<string, string> = {};
  for (const p of entry.op.parameters ?? []) {
    if (p.in === "path") params[p.name] = String(generate(doc, p.schema ?? {}, f, entry.path, p.name));
    if (p.in === "query" && p.required) {
      query[p.name] = String(generate(doc, p.schema ?? {}, f, entry.path, p.name));
    }
  }
  const schema = entry.op.requestBody?.content["application/json"]?.schema;
  return { params, query, ...(schema ? { body: generate(doc, schema, f, entry.path) } : {}) };
}

interface Call {
  path: string;
  init: RequestInit;
}

function buildCall(
  entry: ReturnType<typeof operations>[number],
  example: Example,
  auth: Record<string, string>,
): Call {
  let path = entry.path;
  for (const [name, value] of Object.entries(example.params ?? {})) {
    path = path.replace(`{${name}}`, encodeURIComponent(value));
  }
  const q = new URLSearchParams(example.query ?? {}).toString();
  const headers: Record<string, string> = { ...auth };
  let body: string | undefined;
  if (example.raw) {
    Object.assign(headers, example.raw.headers);
    body = example.raw.body;
  } else if (example.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(example.body);
  }
  return { path: q ? `${path}?${q}` : path, init: { method: entry.method.toUpperCase(), headers, body } };
}

/** Sends the call and checks the answer against the document; returns the status. */
async function check(
  t: TestContext,
  doc: Document,
  entry: ReturnType<typeof operations>[number],
  call: Call,
  what: string,
): Promise<number> {
  const res = await t.request(call.path, call.init);
  const text = await res.text();
  const label = `${entry.key} (${what}) → ${res.status} ${text.slice(0, 300)}`;
  const documented = entry.op.responses[String(res.status)];
  assert.ok(documented, `${label}: status ${res.status} is not documented`);
  const content = documented.content ?? {};
  const json = content["application/json"];
  if (json) {
    assert.match(res.headers.get("Content-Type") ?? "", /application\/json/, label);
    const errors = validate(doc, json.schema, JSON.parse(text));
    assert.deepEqual(errors, [], `${label}: body does not match the documented schema`);
  } else {
    const type = Object.keys(content)[0];
    if (type) assert.ok((res.headers.get("Content-Type") ?? "").startsWith(type.split(";")[0]!), label);
  }
  if (res.status >= 400) assert.equal(typeof JSON.parse(text).error, "string", `${label}: no {error}`);
  return res.status;
}

function bearerAuth(op: Operation): boolean {
  return (op.security ?? []).some((s) => "bearer" in s);
}

function adminAuth(op: Operation): boolean {
  return (op.security ?? []).some((s) => "adminKey" in s);
}

async function authFor(
  t: TestContext,
  entry: { op: Operation },
  as: string,
): Promise<Record<string, string>> {
  if (adminAuth(entry.op)) return { "X-Admin-Key": ADMIN_KEY };
  if (bearerAuth(entry.op)) return { Authorization: `Bearer ${await t.login(as)}` };
  return {};
}

// ---- Tests ---------------------------------------------------------------------------------------

Deno.test("GET /openapi.json is an OpenAPI 3.1 document with info, tags and both security schemes", async () => {
  await using t = await setup(ENV);
  const doc = await loadDocument(t);
  assert.equal(doc.openapi, "3.1.0");
  assert.equal(doc.info.title, "durable-chat API");
  assert.match(doc.info.version, /^\d+\.\d+\.\d+$/);
  for (const topic of ["## Authentication", "## Demo mode", "## Realtime", "## Errors"]) {
    assert.ok(doc.info.description?.includes(topic), `description lacks ${topic}`);
  }
  assert.deepEqual(doc.components.securitySchemes?.bearer, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: doc.components.securitySchemes?.bearer?.description,
  });
  assert.equal(doc.components.securitySchemes?.adminKey?.type, "apiKey");
  const tags = new Set(doc.tags?.map((tag) => tag.name));
  for (const entry of operations(doc)) {
    assert.ok(entry.op.summary, `${entry.key} has no summary`);
    assert.ok(entry.op.tags?.every((tag) => tags.has(tag)), `${entry.key} has an undeclared tag`);
    for (const s of entry.op.security ?? []) {
      for (const scheme of Object.keys(s)) assert.ok(doc.components.securitySchemes?.[scheme], scheme);
    }
  }
});

/** Server settings whose route sets differ: admin API on or off, dev login on or off. */
const ROUTE_CONFIGURATIONS: Record<string, Record<string, string>> = {
  "demo mode with ADMIN_API_KEY": ENV,
  "demo mode": {},
  "production (HS256 secret, no dev login)": { AUTH_JWT_SECRET: "a-production-secret-of-at-least-32-bytes!" },
};

/** `METHOD /path` of every route the app serves that belongs to the HTTP API, OpenAPI-style. */
function servedApiRoutes(t: TestContext): Set<string> {
  // Not part of the HTTP API: the web client (with the modules it shares with the server and the SDK), this
  // reference, and the Pusher-protocol gateway.
  const notApi = /^\/($|web\/|common\/|client\/|favicon\.ico$|docs$|openapi\.json$|app\/|apps\/)/;
  return new Set(
    t.runtime.app.routes
      .filter((r) => r.method !== "ALL" && !notApi.test(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)(\{[^}]*\})?/g, "{$1}")}`),
  );
}

for (const [name, env] of Object.entries(ROUTE_CONFIGURATIONS)) {
  Deno.test(`GET /openapi.json lists every API route the app serves, and admin routes always (${name})`, async () => {
    await using t = await setup(env);
    const doc = await loadDocument(t);
    const documented = new Set(operations(doc).map((e) => `${e.method.toUpperCase()} ${e.path}`));
    const served = servedApiRoutes(t);
    assert.deepEqual([...served].filter((r) => !documented.has(r)), [], "served but not documented");
    const admin = [...documented].filter((r) => r.split(" ")[1]!.startsWith("/api/admin/"));
    assert.ok(admin.length > 0, "no admin route documented");
    const adminServed = "ADMIN_API_KEY" in env;
    const expectedAbsent = adminServed ? [] : admin;
    assert.deepEqual(
      [...documented].filter((r) => !served.has(r)),
      expectedAbsent,
      "documented but not served",
    );
    if (adminServed) return;
    // Without ADMIN_API_KEY the admin routes answer the 404 they document.
    for (const entry of operations(doc).filter((e) => e.path.startsWith("/api/admin/"))) {
      const call = buildCall(entry, { params: { id: "erin" }, body: { name: "Erin" } }, {
        "X-Admin-Key": ADMIN_KEY,
      });
      assert.equal(await check(t, doc, entry, call, "admin API off"), 404, entry.key);
    }
  });
}

Deno.test("GET /openapi.json documents the same admin operations whether the admin API is on or off", async () => {
  const adminOperations = async (env: Record<string, string>) => {
    await using t = await setup(env);
    const doc = await loadDocument(t);
    return operations(doc).filter((e) => e.op.security?.some((s) => "adminKey" in s)).map((e) => ({
      key: e.key,
      operationId: e.op.operationId,
    }));
  };
  const on = await adminOperations(ENV);
  assert.ok(on.length > 0);
  assert.deepEqual(await adminOperations({}), on);
});

Deno.test("GET /openapi.json gives every operation a unique camelCase operationId and explicit security", async () => {
  await using t = await setup(ENV);
  const doc = await loadDocument(t);
  const ids = new Map<string, string>();
  const publicOps: string[] = [];
  for (const entry of operations(doc)) {
    const id = entry.op.operationId;
    assert.match(id ?? "", /^[a-z][a-zA-Z0-9]*$/, `${entry.key} has no camelCase operationId`);
    assert.equal(ids.get(id!), undefined, `${entry.key} reuses the operationId of ${ids.get(id!)}`);
    ids.set(id!, entry.key);
    assert.ok(Array.isArray(entry.op.security), `${entry.key} does not state its security`);
    if (entry.path.startsWith("/api/admin/")) {
      assert.deepEqual(entry.op.security, [{ adminKey: [] }], `${entry.key} is not behind adminKey`);
    } else if (entry.op.security!.length === 0) publicOps.push(entry.key);
    else assert.deepEqual(entry.op.security, [{ bearer: [] }], entry.key);
  }
  assert.deepEqual(publicOps.sort(), [
    "GET /api/chat/uploads/{id}/content",
    "GET /healthz",
    "GET /metrics",
    "POST /api/dev/login",
    "POST /api/pusher/webhook",
    "PUT /api/chat/uploads/{id}/content",
  ]);
});

Deno.test("GET /openapi.json documents the Pusher webhook's body: Pusher's {time_ms, events}", async () => {
  await using t = await setup(ENV);
  const doc = await loadDocument(t);
  const body = doc.paths["/api/pusher/webhook"]?.post?.requestBody;
  assert.ok(body?.required, "the webhook body is not documented as required");
  const schema = body.content["application/json"]?.schema;
  assert.ok(schema, "no application/json body");
  const valid = {
    time_ms: Date.now(),
    events: [{ name: "member_added", channel: "presence-room-r", user_id: "u" }],
  };
  assert.deepEqual(validate(doc, schema, valid), []);
  assert.notDeepEqual(validate(doc, schema, { events: [] }), [], "time_ms is not required");
  assert.notDeepEqual(
    validate(doc, schema, { time_ms: 1, events: [{ channel: "c" }] }),
    [],
    "name not required",
  );
});

Deno.test("GET /openapi.json gives every error status an {error} body and every operation a 2xx", async () => {
  await using t = await setup(ENV);
  const doc = await loadDocument(t);
  for (const entry of operations(doc)) {
    const statuses = Object.keys(entry.op.responses);
    assert.ok(statuses.some((s) => s.startsWith("2")), `${entry.key} documents no success`);
    for (const status of statuses.filter((s) => Number(s) >= 400)) {
      // The HTTP server's own 400 (empty body) is tested on the wire below.
      if (entry.op.responses[status]?.$ref === MALFORMED_REQUEST) continue;
      const schema = entry.op.responses[status]?.content?.["application/json"]?.schema;
      assert.ok(schema, `${entry.key} ${status} has no JSON body`);
      assert.deepEqual(validate(doc, schema, { error: "x" }), [], `${entry.key} ${status}`);
      assert.notDeepEqual(validate(doc, schema, {}), [], `${entry.key} ${status} does not require error`);
    }
    if (bearerAuth(entry.op)) assert.ok(entry.op.responses["401"], `${entry.key} lacks 401`);
  }
});

Deno.test("operations documenting the HTTP server's 400 get it, with an empty body, for a malformed request", async () => {
  await using t = await setup(ENV);
  const doc = await loadDocument(t);
  assert.ok(doc.components.responses?.MalformedRequest, "MalformedRequest is not a component");
  const entries = operations(doc).filter((e) => e.op.responses["400"]?.$ref === MALFORMED_REQUEST);
  assert.ok(entries.some((e) => e.key === "GET /healthz"), "GET /healthz documents no 400");
  await using server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    t.runtime.app.fetch,
  );
  for (const entry of entries) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    // A header line without a colon: no HTTP/1.1 parser takes it.
    const request = `${entry.method.toUpperCase()} ${entry.path} HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const answer = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    assert.match(answer, /^HTTP\/1\.1 400 /, entry.key);
    assert.match(answer, /content-length: 0\r\n/i, `${entry.key}: the body is not empty`);
  }
});

Deno.test("every documented operation answers a valid request with a documented success and body", async () => {
  await using t = await setup(ENV);
  const doc = await loadDocument(t);
  for (const entry of operations(doc)) {
    const f = await fixtures(t);
    const example = exampleFor(doc, entry, f);
    const call = buildCall(entry, example, await authFor(t, entry, example.as ?? f.users.a));
    const status = await check(t, doc, entry, call, "valid request");
    assert.ok(status >= 200 && status < 300, `${entry.key} answered a valid request with ${status}`);
  }
});

Deno.test("every documented operation answers a missing or bad credential with a documented 401", async () => {
  await using t = await setup(ENV);
  const doc = await loadDocument(t);
  const f = await fixtures(t);
  for (const entry of operations(doc).filter((e) => bearerAuth(e.op) || adminAuth(e.op))) {
    const example = exampleFor(doc, entry, f);
    const bad: Record<string, string> = adminAuth(entry.op)
      ? { "X-Admin-Key": "wrong" }
      : { Authorization: "Bearer not.a.jwt" };
    const cases: [string, Record<string, string>][] = [["no credential", {}], ["bad credential", bad]];
    for (const [what, auth] of cases) {
      assert.equal(await check(t, doc, entry, buildCall(entry, example, auth), what), 401, entry.key);
    }
  }
});

Deno.test("every documented operation answers bad input with a documented 4xx {error}, never 5xx", async () => {
  await using t = await setup(ENV);
  const doc = await loadDocument(t);
  const f = await fixtures(t);
  for (const entry of operations(doc)) {
    if (entry.key === "POST /api/pusher/webhook") continue; // signed raw body: covered below
    const auth = await authFor(t, entry, f.users.a);
    const example = exampleFor(doc, entry, f);
    const bad: [string, Call][] = [];
    const jsonBody = entry.op.requestBody?.content["application/json"];
    if (jsonBody) {
      const base = buildCall(entry, example, auth);
      const withBody = (body: string, type?: string): Call => ({
        path: base.path,
        init: {
          ...base.init,
          body,
          headers: { ...auth, ...(type ? { "Content-Type": type } : {}) },
        },
      });
      bad.push(["malformed JSON", withBody("{not json", "application/json")]);
      bad.push(["a JSON array", withBody("[1, 2]", "application/json")]);
      bad.push([
        "wrong field types",
        withBody(JSON.stringify(wrongTypes(doc, jsonBody.schema)), "application/json"),
      ]);
      bad.push([
        "a 70 KB body",
        withBody(JSON.stringify({ content: "x".repeat(70_000) }), "application/json"),
      ]);
      if (!entry.op.requestBody?.content["application/x-www-form-urlencoded"]) {
        bad.push(["no Content-Type", withBody(JSON.stringify(example.body ?? {}))]);
      }
    }
    for (const p of entry.op.parameters ?? []) {
      if (p.in === "path") {
        bad.push([
          `bad path ${p.name}`,
          buildCall(entry, { ...example, params: { ...example.params, [p.name]: "no such/thing!" } }, auth),
        ]);
      }
      if (p.in === "query" && p.name === "limit") {
        bad.push([
          "limit=0",
          buildCall(entry, { ...example, query: { ...example.query, limit: "0" } }, auth),
        ]);
        bad.push([
          "limit=abc",
          buildCall(entry, { ...example, query: { ...example.query, limit: "abc" } }, auth),
        ]);
      }
      if (p.in === "query" && p.required) {
        const { [p.name]: _, ...rest } = example.query ?? {};
        bad.push([`no ${p.name}`, buildCall(entry, { ...example, query: rest }, auth)]);
      }
    }
    for (const [what, call] of bad) {
      const status = await check(t, doc, entry, call, what);
      assert.ok(status >= 400 && status < 500, `${entry.key} (${what}) answered ${status}`);
    }
  }
});

Deno.test("POST /api/pusher/webhook answers a wrong signature with its documented 401", async () => {
  await using t = await setup(ENV);
  const doc = await loadDocument(t);
  const entry = operations(doc).find((e) => e.key === "POST /api/pusher/webhook");
  if (!entry) return; // realtime routes not mounted in this configuration
  const call = buildCall(entry, {
    raw: { body: "{}", headers: { "X-Pusher-Key": PUSHER.PUSHER_KEY, "X-Pusher-Signature": "00" } },
  }, {});
  assert.equal(await check(t, doc, entry, call, "wrong signature"), 401);
});

Deno.test("GET /docs serves an offline reference whose scripts and styles come from this server", async () => {
  await using t = await setup(ENV);
  const res = await t.request("/docs");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /text\/html/);
  const html = await res.text();
  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.includes("/web/docs.js"));
  for (const asset of assets) {
    assert.ok(asset.startsWith("/") || asset.startsWith("#"), `${asset} is not served by us`);
    if (asset.startsWith("/web/")) {
      const file = await t.request(asset);
      assert.equal(file.status, 200, asset);
      await file.body?.cancel();
    }
  }
});

/** A body whose every property has the wrong type (strings become numbers, the rest strings). */
function wrongTypes(doc: Document, schema: Schema): unknown {
  const s = typeof schema.$ref === "string" ? resolveRef(doc, schema.$ref) : schema;
  const properties = (s.properties ?? {}) as Record<string, Schema>;
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(properties)) {
    const p = typeof prop.$ref === "string" ? resolveRef(doc, prop.$ref) : prop;
    const types = Array.isArray(p.type) ? p.type : [p.type];
    out[name] = types.includes("string") ? 12345 : "not-the-right-type";
  }
  return Object.keys(out).length ? out : [];
}
