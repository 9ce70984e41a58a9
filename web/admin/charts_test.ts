import assert from "node:assert/strict";
import { barChart, escapeXml, histogramBars, niceMax, stackedBarChart } from "./charts.js";

Deno.test("stackedBarChart() writes each bar's total on it and each series' total in the legend", () => {
  const svg = stackedBarChart({
    title: "Messages per hour",
    series: [{ name: "direct", color: "#00f" }, { name: "group", color: "#f0f" }],
    bars: [{ label: "10h", values: [2, 3] }, { label: "11h", values: [0, 0] }, {
      label: "12h",
      values: [1, 0],
    }],
  });
  assert.match(svg, /^<svg class="chart" viewBox="0 0 560 220" role="img" aria-label="Messages per hour"/);
  const values = [...svg.matchAll(/<text class="value"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(values, ["5", "1"], "totals above the bars that have any, none on the empty hour");
  assert.match(svg, />direct: 3<\/text>/);
  assert.match(svg, />group: 3<\/text>/);
  assert.equal((svg.match(/<rect [^>]*fill="#00f"><title>/g) ?? []).length, 2);
});

Deno.test("barChart() escapes labels and scales to a round maximum", () => {
  const svg = barChart({ title: "<Users>", name: "a&b", color: "#0a0", bars: [{ label: "<x>", value: 7 }] });
  assert.ok(!svg.includes("<x>") && !svg.includes("<Users>"));
  assert.match(svg, /&#60;x&#62;/);
  assert.match(svg, />a&#38;b: 7<\/text>/);
  assert.match(svg, />10<\/text>/, "the axis tops at 10");
  assert.deepEqual([0, 1, 3, 7, 12, 480].map(niceMax), [1, 1, 5, 10, 20, 500]);
  assert.equal(escapeXml(`"'`), "&#34;&#39;");
});

Deno.test("histogramBars() turns cumulative buckets into ranges around those with counts", () => {
  const buckets = [{ le: 0.005, count: 0 }, { le: 0.01, count: 0 }, { le: 0.05, count: 4 }, {
    le: 0.1,
    count: 7,
  }, {
    le: 1,
    count: 7,
  }, { le: 5, count: 7 }];
  assert.deepEqual(histogramBars(buckets, 8), [
    { label: "≤10ms", value: 0 },
    { label: "≤50ms", value: 4 },
    { label: "≤100ms", value: 3 },
    { label: "≤1s", value: 0 },
    { label: "≤5s", value: 0 },
    { label: ">5s", value: 1 },
  ]);
  assert.equal(histogramBars(buckets.map((b) => ({ ...b, count: 0 })), 0).length, 7);
});
