/**
 * docs/grafana-dashboard.json as Grafana imports it: a dashboard with a
 * Prometheus data source input, panels on the 24-column grid without overlaps,
 * and queries that parse as PromQL (Prometheus's own grammar) and name only
 * metrics the server's /metrics exports.
 */
import assert from "node:assert/strict";
import { parser } from "@prometheus-io/lezer-promql";
import { eventually, startOutboxServer } from "./support/outbox_harness.ts";

interface Panel {
  id: number;
  title: string;
  type: string;
  datasource: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { refId: string; expr: string; datasource: { uid: string } }[];
}

const dashboard = JSON.parse(
  await Deno.readTextFile(new URL("../docs/grafana-dashboard.json", import.meta.url)),
) as {
  __inputs: { name: string; pluginId: string }[];
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
};

function parsesAsPromql(expr: string): boolean {
  let ok = true;
  parser.parse(expr).iterate({ enter: (node) => void (node.type.isError && (ok = false)) });
  return ok;
}

Deno.test("the Grafana dashboard is importable: a Prometheus input, unique panels on the grid without overlaps", () => {
  assert.deepEqual(dashboard.__inputs.map((i) => [i.name, i.pluginId]), [["DS_PROMETHEUS", "prometheus"]]);
  assert.equal(typeof dashboard.schemaVersion, "number");
  assert.ok(dashboard.uid && dashboard.title);
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
  const cells = new Set<string>();
  for (const panel of dashboard.panels) {
    assert.ok(["stat", "timeseries"].includes(panel.type), `${panel.title}: ${panel.type}`);
    assert.deepEqual(panel.datasource, { type: "prometheus", uid: "${DS_PROMETHEUS}" }, panel.title);
    const { x, y, w, h } = panel.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0, `${panel.title} is off the grid`);
    for (let i = x; i < x + w; i++) {
      for (let j = y; j < y + h; j++) {
        assert.ok(!cells.has(`${i},${j}`), `${panel.title} overlaps another panel`);
        cells.add(`${i},${j}`);
      }
    }
    assert.ok(panel.targets.length > 0, `${panel.title} has no query`);
    assert.equal(new Set(panel.targets.map((t) => t.refId)).size, panel.targets.length);
  }
});

Deno.test("the Grafana dashboard's queries parse as PromQL", () => {
  assert.equal(parsesAsPromql("sum by (sink (rate(x[5m]))"), false, "the parser finds errors");
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      assert.ok(parsesAsPromql(target.expr), `${panel.title}: ${target.expr}`);
    }
  }
});

Deno.test("the Grafana dashboard names only metrics that /metrics exports", async () => {
  await using t = await startOutboxServer();
  await t.login("bob");
  await t.ok("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "hi" });
  await eventually(() => t.runtime.metrics.latency("realtime").count > 0, "a delivery");
  const text = await (await fetch(`${t.url}/metrics`)).text();
  // Families as /metrics declares them (a counter is listed before its first sample; a histogram has _bucket).
  const exported = new Set<string>();
  for (const line of text.split("\n").filter((l) => l.startsWith("# TYPE "))) {
    const [, , name, type] = line.split(" ");
    exported.add(name!);
    if (type === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(name + suffix);
    }
  }
  const used = dashboard.panels.flatMap((p) =>
    p.targets.flatMap((t) => t.expr.match(/\b(?:chat|outbox|push)_[a-z_]+\b/g) ?? [])
  );
  assert.ok(used.length > 10);
  for (const name of new Set(used)) assert.ok(exported.has(name), `${name} is not in /metrics`);
});
