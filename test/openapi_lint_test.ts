/**
 * @module The OpenAPI document as client developers' tools see it: `@redocly/cli lint` with its
 * recommended rules (the version pinned in deno.json, resolved through deno.lock), and a real
 * JSON Schema validator (ajv, draft 2020-12) for the schema patterns.
 */
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { setup } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The settings a developer is likely to lint with: `deno task start` as it is, and with the admin API. */
const CONFIGURATIONS: Record<string, Record<string, string>> = {
  "demo mode": {},
  "demo mode with ADMIN_API_KEY": { ADMIN_API_KEY: "admin-key-for-lint-tests" },
};

interface LintProblem {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  location: { pointer: string }[];
}

async function servedDocument(env: Record<string, string>): Promise<Record<string, unknown>> {
  await using t = await setup(env);
  const res = await t.request("/openapi.json");
  assert.equal(res.status, 200);
  return await res.json();
}

/** Runs `redocly lint --format=json` on the document (no network: telemetry and update checks off). */
async function lint(document: unknown): Promise<{ totals: Record<string, number>; problems: LintProblem[] }> {
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-lint-" });
  try {
    const file = `${dir}/openapi.json`;
    await Deno.writeTextFile(file, JSON.stringify(document));
    const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        "@redocly/cli",
        "lint",
        "--format=json",
        file,
      ],
      cwd: ROOT,
      env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout);
    assert.ok(text.trim().startsWith("{"), `redocly printed no report:\n${new TextDecoder().decode(stderr)}`);
    return JSON.parse(text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const [name, env] of Object.entries(CONFIGURATIONS)) {
  Deno.test(`@redocly/cli lint (recommended rules) finds nothing in /openapi.json but the license (${name})`, async () => {
    const report = await lint(await servedDocument(env));
    const problems = report.problems
      .filter((p) => p.ruleId !== "info-license")
      .map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    assert.deepEqual(problems, []);
    assert.equal(report.totals.errors, 0);
  });
}

/** Every schema with a `pattern` in the document, with where it is. */
function patterns(value: unknown, at = "#"): { at: string; pattern: string; example?: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => patterns(item, `${at}/${i}`));
  if (typeof value !== "object" || value === null) return [];
  const schema = value as Record<string, unknown>;
  const here = typeof schema.pattern === "string"
    ? [{ at, pattern: schema.pattern, ...("example" in schema ? { example: schema.example } : {}) }]
    : [];
  return [...here, ...Object.entries(schema).flatMap(([key, item]) => patterns(item, `${at}/${key}`))];
}

Deno.test("every schema pattern in /openapi.json is a flagless ECMA-262 pattern its example matches, with or without u", async () => {
  const document = await servedDocument({});
  const found = patterns(document);
  assert.ok(found.length > 0);
  for (const { at, pattern, example } of found) {
    // JSON Schema patterns carry no flags, and validators differ in whether they compile with `u`.
    for (const regex of [new RegExp(pattern), new RegExp(pattern, "u")]) {
      if (typeof example === "string") assert.match(example, regex, `${at}: its example`);
    }
  }
});

Deno.test("ajv (JSON Schema 2020-12) and the server agree on reaction emojis: 👍, ZWJ sequences and :shortcodes: pass", async () => {
  await using t = await setup();
  const document = await (await t.request("/openapi.json")).json();
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema(document, "openapi.json");
  const validate = ajv.getSchema("openapi.json#/components/schemas/ReactionRequest");
  assert.ok(validate, "ReactionRequest is not a component of the document");
  const accepted = ["👍", "❤️", "👨‍👩‍👧", "🏳️‍🌈", ":thumbsup:", ":+1:", "ok"];
  const refused = ["thumbs up", " 👍", "👍\n", "\u0007", "\u0085x", ""];
  for (const emoji of accepted) {
    assert.equal(validate({ emoji }), true, `ajv refuses ${JSON.stringify(emoji)}`);
  }
  for (const emoji of refused) {
    assert.equal(validate({ emoji }), false, `ajv accepts ${JSON.stringify(emoji)}`);
  }

  await t.login("bob");
  const sent = await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "react to me" });
  const { message } = await sent.json();
  for (const emoji of [...accepted, ...refused]) {
    const res = await t.api("alice", "POST", `/api/chat/messages/${message.id}/reactions`, { emoji });
    await res.body?.cancel();
    assert.equal(res.status, accepted.includes(emoji) ? 200 : 400, `server on ${JSON.stringify(emoji)}`);
  }
});
