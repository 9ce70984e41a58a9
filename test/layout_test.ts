/**
 * Checks the source tree's shape (README's layout section): top-level folders
 * import each other without a cycle, root modules that folders import are
 * leaves, and no source file outside tests and bench/ passes 600 lines.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
/** Folders not checked here: the browser client has its own budget, tools are vendored. */
const SKIP = new Set(["test", "bench", "tools", "web", "node_modules", "docs", "data", ".git"]);
const MAX_LINES = 600;

interface Source {
  path: string;
  text: string;
}

async function sources(dir = ""): Promise<Source[]> {
  const out: Source[] = [];
  for await (const entry of Deno.readDir(new URL(dir || ".", ROOT))) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      if (!SKIP.has(entry.name) && !entry.name.startsWith(".")) out.push(...await sources(path));
    } else if (/\.(ts|js)$/.test(entry.name) && !/_test\.ts$/.test(entry.name)) {
      out.push({ path, text: await Deno.readTextFile(new URL(path, ROOT)) });
    }
  }
  return out;
}

/** The repository paths a source file imports (relative imports only). */
function importsOf(source: Source): string[] {
  const found: string[] = [];
  for (const match of source.text.matchAll(/(?:from|import)\s+"(\.{1,2}\/[^"]+)"/g)) {
    const url = new URL(match[1]!, new URL(source.path, ROOT));
    found.push(url.pathname.slice(ROOT.pathname.length));
  }
  return found;
}

const folderOf = (path: string) => path.includes("/") ? path.slice(0, path.indexOf("/")) : ".";

Deno.test("top-level folders import each other without a cycle", async () => {
  const edges = new Map<string, Set<string>>();
  for (const source of await sources()) {
    const from = folderOf(source.path);
    if (from === ".") continue;
    for (const target of importsOf(source)) {
      const to = folderOf(target);
      if (to === from || to === ".") continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
    }
  }
  const cycle = findCycle(edges);
  assert.equal(cycle, null, `folder import cycle: ${cycle?.join(" → ")}`);
});

Deno.test("root modules that folders import are leaves (they import no folder)", async () => {
  const all = await sources();
  const usedByFolders = new Set(
    all.filter((s) => folderOf(s.path) !== ".").flatMap(importsOf).filter((p) => folderOf(p) === "."),
  );
  for (const source of all.filter((s) => usedByFolders.has(s.path))) {
    assert.deepEqual(importsOf(source).filter((p) => folderOf(p) !== "."), [], source.path);
  }
});

Deno.test(`no source file outside tests and bench/ is over ${MAX_LINES} lines`, async () => {
  const long = (await sources()).map((s) => ({ path: s.path, lines: s.text.split("\n").length - 1 }))
    .filter((s) => s.lines > MAX_LINES);
  assert.deepEqual(long, []);
});

function findCycle(edges: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === "done") return null;
    if (state.get(node) === "open") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "open");
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}
