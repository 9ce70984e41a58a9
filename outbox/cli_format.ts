/** @module How `deno task outbox` prints: ages, and aligned tables of the backlog and of dead letters. */
import type { DeadLetter } from "./dead_letters.ts";
import type { SinkBacklog } from "./operations.ts";

/** An age for people: `850ms`, `12s`, `3m 20s`, `2h 5m`, `3d 4h`; `-` for none. */
export function formatAge(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Rows as aligned columns: numbers right-aligned, the last column left as it is. */
export function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => /^\d+$/.test(row[i] ?? "")));
  return all.map((row) =>
    row.map((cell, i) => {
      if (i === row.length - 1) return cell;
      return numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
    }).join("  ").trimEnd()
  );
}

/** The backlog per sink and in all, with each sink's oldest age. */
export function backlogTable(backlog: Record<string, SinkBacklog>): string[] {
  const rows = Object.entries(backlog).map(([sink, b]) => [
    sink,
    String(b.pending),
    String(b.retrying),
    String(b.dead),
    formatAge(b.oldestAgeMs),
  ]);
  const all = Object.values(backlog);
  const oldest = all.reduce<number | null>(
    (max, b) => b.oldestAgeMs === null ? max : Math.max(max ?? 0, b.oldestAgeMs),
    null,
  );
  const sum = (state: "pending" | "retrying" | "dead") => String(all.reduce((n, b) => n + b[state], 0));
  rows.push(["total", sum("pending"), sum("retrying"), sum("dead"), formatAge(oldest)]);
  return table(["SINK", "PENDING", "RETRYING", "DEAD", "OLDEST"], rows);
}

/** Dead letters: id, sink, room (or user), age, attempts, last error (cut to one line). */
export function deadTable(dead: DeadLetter[]): string[] {
  return table(
    ["ID", "SINK", "ROOM", "AGE", "ATTEMPTS", "LAST ERROR"],
    dead.map((d) => [
      d.id,
      d.sink,
      d.roomId ?? (d.userId ? `user ${d.userId}` : "-"),
      formatAge(d.ageMs),
      String(d.attempts),
      (d.lastError ?? "").replace(/\s+/g, " ").slice(0, 160),
    ]),
  );
}
