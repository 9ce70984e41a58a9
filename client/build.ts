/**
 * @module Builds the SDK with `deno bundle` (ESM, pusher-js inside) into `client/dist/`, or
 * the directory given:
 *
 * - `chat.js` + `chat.d.ts`: browsers (and workers, Deno), from `mod.ts` with pusher-js's worker build;
 * - `chat.node.js` + `chat.node.d.ts`: Node 20, from `node.ts` with pusher-js's Node build.
 *
 * `deno task client:build`. The output is not committed (bundles name paths of the local
 * package cache); test/client_node_test.ts builds it afresh and runs it under `node`.
 */

const CLIENT = new URL("./", import.meta.url).pathname;

/** The bundles and their entry points. */
const BUNDLES = [
  { entry: "mod.ts", output: "chat.js", platform: "browser" },
  { entry: "node.ts", output: "chat.node.js", platform: "deno" }, // runs on Node: node: imports
] as const;

/** A bundle's file name. */
export type BundleName = (typeof BUNDLES)[number]["output"];

/** Writes the bundles (default: all) and their declarations into `outDir`; returns their paths. */
export async function buildClient(
  outDir: string = `${CLIENT}dist`,
  only: BundleName[] = BUNDLES.map((b) => b.output),
): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const { entry, output, platform } of BUNDLES.filter((b) => only.includes(b.output))) {
    const file = `${outDir}/${output}`;
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        `--platform=${platform}`,
        "--format=esm",
        "--declaration",
        "-o",
        file,
        `${CLIENT}${entry}`,
      ],
      cwd: `${CLIENT}..`,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(stderr)}`);
    written.push(file);
  }
  return written;
}

if (import.meta.main) {
  for (const file of await buildClient(Deno.args[0])) console.log(`wrote ${file}`);
}
