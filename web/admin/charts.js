/**
 * @module Small SVG charts for the operator console, as strings: bars with
 * their values written on them, stacked bars with a legend of totals, so
 * everything reads without hovering. Pure functions (tests run them in Deno).
 */

/** Escapes text for SVG and HTML. */
export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A compact number: 950, 1.2k, 3.4M. */
export function compact(n) {
  if (n < 1000) return String(Math.round(n * 100) / 100);
  if (n < 1_000_000) return `${Math.round(n / 100) / 10}k`;
  return `${Math.round(n / 100_000) / 10}M`;
}

/** A round upper bound for an axis: 1, 2, 5 × 10^k at or above `max`. */
export function niceMax(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

const PAD = { top: 18, right: 8, bottom: 34, left: 36 };

/**
 * Stacked bars: `bars` are `{label, values: number[]}` in the order of
 * `series` (`{name, color}`). Each bar's total is written above it; x labels
 * are shown every `labelEvery` bars; the legend gives each series' total.
 *
 * @param {{ title: string; series: { name: string; color: string }[]; bars: { label: string; values: number[] }[];
 *   width?: number; height?: number; labelEvery?: number; unit?: string }} options
 * @returns {string}
 */
export function stackedBarChart(options) {
  const { title, series, bars } = options;
  const width = options.width ?? 560;
  const height = options.height ?? 220;
  const labelEvery = options.labelEvery ?? 1;
  const totals = bars.map((b) => b.values.reduce((a, v) => a + v, 0));
  const top = niceMax(Math.max(0, ...totals));
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, bars.length);
  const barW = Math.max(1, Math.min(40, slot * 0.72));
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const parts = [];
  // Axis: 0, half, top, with faint grid lines.
  for (const v of [0, top / 2, top]) {
    parts.push(
      `<line class="grid" x1="${PAD.left}" x2="${width - PAD.right}" y1="${y(v).toFixed(1)}" y2="${
        y(v).toFixed(1)
      }"/>`,
      `<text class="axis" x="${PAD.left - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${
        compact(v)
      }</text>`,
    );
  }
  bars.forEach((bar, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    let base = 0;
    bar.values.forEach((value, s) => {
      if (value <= 0) return;
      const y0 = y(base + value);
      const h = y(base) - y0;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y0.toFixed(1)}" width="${barW.toFixed(1)}" height="${
          Math.max(0.5, h).toFixed(1)
        }" fill="${series[s].color}"><title>${
          escapeXml(`${bar.label} ${series[s].name}: ${value}`)
        }</title></rect>`,
      );
      base += value;
    });
    if (totals[i] > 0) {
      parts.push(
        `<text class="value" x="${(x + barW / 2).toFixed(1)}" y="${(y(totals[i]) - 3).toFixed(1)}" ` +
          `text-anchor="middle">${compact(totals[i])}</text>`,
      );
    }
    if (i % labelEvery === 0) {
      parts.push(
        `<text class="axis" x="${(x + barW / 2).toFixed(1)}" y="${
          height - PAD.bottom + 13
        }" text-anchor="middle">${escapeXml(bar.label)}</text>`,
      );
    }
  });
  const legend = series.map((s, i) => {
    const total = bars.reduce((a, b) => a + (b.values[i] ?? 0), 0);
    const x = PAD.left + i * 150;
    return `<rect x="${x}" y="${height - 12}" width="10" height="10" fill="${s.color}"/>` +
      `<text class="legend" x="${x + 14}" y="${height - 3}">${escapeXml(s.name)}: ${compact(total)}${
        options.unit ? " " + escapeXml(options.unit) : ""
      }</text>`;
  });
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}" ` +
    `xmlns="http://www.w3.org/2000/svg"><title>${escapeXml(title)}</title>${parts.join("")}${
      legend.join("")
    }</svg>`;
}

/**
 * Bars of one series (each value written above its bar).
 *
 * @param {{ title: string; color: string; name: string; bars: { label: string; value: number }[];
 *   width?: number; height?: number; labelEvery?: number; unit?: string }} options
 */
export function barChart(options) {
  return stackedBarChart({
    ...options,
    series: [{ name: options.name, color: options.color }],
    bars: options.bars.map((b) => ({ label: b.label, values: [b.value] })),
  });
}

/**
 * A latency histogram's bars from Prometheus-style cumulative buckets
 * (`{le, count}` ascending, then `count` for +Inf): the count in each range,
 * from one range before the first that has any to one after the last.
 */
export function histogramBars(buckets, count) {
  const out = [];
  let previous = 0;
  for (const { le, count: cumulative } of buckets) {
    out.push({ label: `≤${formatSeconds(le)}`, value: cumulative - previous });
    previous = cumulative;
  }
  out.push({ label: `>${formatSeconds(buckets.at(-1)?.le ?? 0)}`, value: count - previous });
  const first = out.findIndex((b) => b.value > 0);
  if (first < 0) return out;
  const last = out.length - 1 - [...out].reverse().findIndex((b) => b.value > 0);
  return out.slice(Math.max(0, first - 1), last + 2);
}

/** 0.005 → "5ms", 2.5 → "2.5s", 300 → "5m". */
export function formatSeconds(s) {
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${s}s`;
  return `${Math.round(s / 60)}m`;
}
