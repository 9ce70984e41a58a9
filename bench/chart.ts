/**
 * @module The bench chart, drawn as plain SVG: one bar per ratio with its
 * target marked, and the scale curves (p50 latency against stored messages).
 */

/** A measured ratio and the target it is held to. */
export interface RatioBar {
  label: string;
  value: number;
  target: number;
  /** "min": the value should be at least the target; "max": at most. */
  kind: "min" | "max";
}

/** One curve of the scale panel. */
export interface Curve {
  label: string;
  points: { x: number; y: number }[];
}

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function valueText(value: number): string {
  return Number.isFinite(value) ? `${fmt(value)}×` : "not reached";
}

/** Renders the chart: ratio bars on the left, scale curves on the right. */
export function renderChart(
  options: { title: string; subtitle: string; bars: RatioBar[]; curves: Curve[]; notes?: string[] },
): string {
  const width = 1100;
  const barRow = 26;
  const barsHeight = Math.max(200, options.bars.length * barRow + 60);
  const notes = options.notes ?? [];
  const height = Math.max(barsHeight, 360) + 70 + notes.length * 16 + (notes.length ? 20 : 0);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="24" font-size="16" font-weight="bold">${esc(options.title)}</text>`,
    `<text x="20" y="42" fill="#555">${esc(options.subtitle)}</text>`,
  );
  out.push(...ratioBars(options.bars, { x: 20, y: 70, width: 520 }));
  out.push(...curvesPanel(options.curves, { x: 620, y: 70, width: 440, height: 300 }));
  const notesY = Math.max(barsHeight, 360) + 90;
  notes.forEach((note, i) => out.push(`<text x="20" y="${notesY + i * 16}" fill="#222">${esc(note)}</text>`));
  out.push("</svg>");
  return out.join("\n");
}

/** Bars on a log scale around 1 (so 0.5× and 2× are the same length), target as a tick. */
function ratioBars(bars: RatioBar[], box: { x: number; y: number; width: number }): string[] {
  const out: string[] = [];
  const labelWidth = 230;
  const plotX = box.x + labelWidth;
  const plotWidth = box.width - labelWidth - 60;
  const finite = bars.flatMap((b) => Number.isFinite(b.value) ? [b.value, b.target] : [b.target]);
  const maxValue = Math.min(64, Math.max(4, ...finite));
  const minValue = 0.25;
  const scale = (v: number) =>
    plotX + (Math.log(Math.max(minValue, Math.min(maxValue, v)) / minValue) / Math.log(maxValue / minValue)) *
      plotWidth;
  out.push(
    `<text x="${box.x}" y="${
      box.y - 8
    }" font-weight="bold">Ratios vs targets (log scale; green = target met)</text>`,
  );
  bars.forEach((bar, i) => {
    const y = box.y + i * 26;
    const met = bar.kind === "min" ? bar.value >= bar.target : bar.value <= bar.target;
    const color = met ? "#16a34a" : "#dc2626";
    const x1 = scale(1);
    const x2 = Number.isFinite(bar.value) ? scale(bar.value) : scale(maxValue);
    out.push(
      `<text x="${box.x}" y="${y + 14}">${esc(bar.label)}</text>`,
      `<rect x="${Math.min(x1, x2)}" y="${y + 3}" width="${
        Math.max(1, Math.abs(x2 - x1))
      }" height="16" fill="${color}" opacity="0.8"/>`,
      `<line x1="${scale(bar.target)}" x2="${scale(bar.target)}" y1="${y}" y2="${
        y + 22
      }" stroke="black" stroke-width="2"/>`,
      `<text x="${Math.max(x1, x2) + 4}" y="${y + 15}">${valueText(bar.value)} (${
        bar.kind === "min" ? "≥" : "≤"
      } ${bar.target})</text>`,
    );
  });
  const axisY = box.y + bars.length * 26 + 6;
  for (const tick of [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64].filter((t) => t <= maxValue)) {
    out.push(
      `<line x1="${scale(tick)}" x2="${scale(tick)}" y1="${box.y - 2}" y2="${axisY}" stroke="#ddd"/>`,
      `<text x="${scale(tick)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${tick}×</text>`,
    );
  }
  return out;
}

/** Log-x, linear-y line chart of p50 latency against stored messages. */
function curvesPanel(
  curves: Curve[],
  box: { x: number; y: number; width: number; height: number },
): string[] {
  const out: string[] = [];
  const xs = curves.flatMap((c) => c.points.map((p) => p.x)).filter((x) => x > 0);
  const ys = curves.flatMap((c) => c.points.map((p) => p.y)).filter(Number.isFinite);
  if (xs.length === 0) return out;
  const [minX, maxX] = [Math.min(...xs), Math.max(...xs)];
  const maxY = Math.max(1, ...ys) * 1.15;
  const sx = (x: number) =>
    box.x + (maxX === minX ? box.width / 2 : (Math.log(x / minX) / Math.log(maxX / minX)) * box.width);
  const sy = (y: number) => box.y + box.height - (y / maxY) * box.height;
  out.push(
    `<text x="${box.x}" y="${
      box.y - 8
    }" font-weight="bold">Scale curves: p50 latency (ms) vs stored messages</text>`,
    `<line x1="${box.x}" x2="${box.x + box.width}" y1="${sy(0)}" y2="${sy(0)}" stroke="#333"/>`,
    `<line x1="${box.x}" x2="${box.x}" y1="${box.y}" y2="${sy(0)}" stroke="#333"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const y = (maxY / 4) * i;
    out.push(
      `<line x1="${box.x}" x2="${box.x + box.width}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>`,
      `<text x="${box.x - 6}" y="${sy(y) + 4}" text-anchor="end" fill="#555">${fmt(y)}</text>`,
    );
  }
  for (const x of [...new Set(xs)]) {
    const label = Math.round(x / 1e3) >= 1000 ? `${Math.round(x / 1e5) / 10}M` : `${Math.round(x / 1e3)}k`;
    out.push(`<text x="${sx(x)}" y="${sy(0) + 16}" text-anchor="middle" fill="#555">${label}</text>`);
  }
  curves.forEach((curve, i) => {
    const color = COLORS[i % COLORS.length];
    const d = curve.points.map((p, j) => `${j === 0 ? "M" : "L"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      .join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of curve.points) {
      out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    out.push(
      `<text x="${box.x + (i % 3) * 150}" y="${
        box.y + box.height + 40 + Math.floor(i / 3) * 16
      }" fill="${color}">■ ${esc(curve.label)}</text>`,
    );
  });
  return out;
}
