/**
 * @module The SDK's types come from the OpenAPI document and nothing else of the server:
 * client/api_types.ts is what openapi-typescript makes of the live `/openapi.json`, and the
 * SDK's module graph holds client/, the shared common/ modules and pusher-js only.
 */
import assert from "node:assert/strict";
import { API_TYPES_PATH, generateTypes } from "../client/generate_types.ts";
import { setup } from "./helpers.ts";

Deno.test("client/api_types.ts is what openapi-typescript generates from the live /openapi.json", async () => {
  await using t = await setup();
  const res = await t.request("/openapi.json");
  assert.equal(res.status, 200);
  const expected = (await generateTypes(await res.json())).split("\n");
  const actual = (await Deno.readTextFile(API_TYPES_PATH)).split("\n");
  const line = expected.findIndex((text, i) => actual[i] !== text);
  const where = `line ${line + 1}: ${JSON.stringify(expected[line])}`;
  assert.ok(
    line < 0 && actual.length === expected.length,
    `client/api_types.ts is stale (${where}): run \`deno task client:types\``,
  );
});

for (const entry of ["mod.ts", "node.ts"]) {
  Deno.test(`client/${entry} depends on client/, common/ and pusher-js only`, async () => {
    const root = new URL("../", import.meta.url).href;
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", `client/${entry}`],
      cwd: new URL(root).pathname,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.ok(success);
    const graph: { modules: { specifier: string }[] } = JSON.parse(new TextDecoder().decode(stdout));
    const outside = graph.modules.map((m) => m.specifier).filter((specifier) => {
      if (specifier.startsWith(`${root}client/`) || specifier.startsWith(`${root}common/`)) return false;
      return !/^npm:\/?pusher-js@/.test(specifier);
    });
    assert.deepEqual(outside, []);
  });
}
