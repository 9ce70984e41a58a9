/**
 * @module The operator counters in the Prometheus text format: totals read
 * from KV, so every process reports the same cluster-wide values (unlike the
 * per-process outbox counters).
 */
import type { StatsTotals } from "./read.ts";

/** The Prometheus lines of the counters, and each sink's oldest batch age (seconds; 0 when none waits). */
export function renderStats(totals: StatsTotals, oldestAgeMs: Record<string, number | null>): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  family("chat_messages_total", "counter", "Messages created, by room type (all processes)", [
    ['{room_type="direct"}', totals.messages.direct],
    ['{room_type="group"}', totals.messages.group],
  ]);
  family("chat_rooms_created_total", "counter", "Rooms created, by room type (all processes)", [
    ['{room_type="direct"}', totals.rooms.direct],
    ['{room_type="group"}', totals.rooms.group],
  ]);
  family(
    "chat_active_users",
    "gauge",
    "Distinct users who acted in a room: today (UTC) and in the last 7 days",
    [
      ['{window="today"}', totals.activeUsers.today],
      ['{window="7d"}', totals.activeUsers.last7Days],
    ],
  );
  family("chat_push_outcomes_total", "counter", "Push outcomes recorded in KV (all processes)", [
    ['{outcome="delivered"}', totals.push.delivered],
    ['{outcome="not_delivered"}', totals.push.notDelivered],
    ['{outcome="failed"}', totals.push.failed],
  ]);
  family(
    "outbox_oldest_age_seconds",
    "gauge",
    "Age of each sink's oldest pending or retrying batch (0 when none waits)",
    Object.entries(oldestAgeMs).map(([sink, ms]) => [`{sink="${sink}"}`, (ms ?? 0) / 1000]),
  );
  return lines.join("\n") + "\n";
}
