/**
 * @module What `GET /api/admin/stats` and `/api/admin/outbox` answer: the
 * operator counters of a window of days, and the outbox per sink with the age
 * of its oldest batch — all from counters and short lists, cheap at any scale.
 */
import type { LatencyHistogram } from "../outbox/metrics.ts";
import { oldestAges, outboxCounts } from "../outbox/operations.ts";
import { type Sink, SINKS } from "../outbox/outbox.ts";
import { readStatsWindow, type StatsWindow } from "../stats/read.ts";

/** One sink's backlog. */
export interface SinkBacklog {
  pending: number;
  retrying: number;
  dead: number;
  /** How long the oldest pending or retrying batch has waited; null when none waits. */
  oldestAgeMs: number | null;
}

/** The answer of `GET /api/admin/stats`. */
export interface AdminStats extends StatsWindow {
  days: number;
  outbox: Record<Sink, SinkBacklog>;
  /** This process's commit-to-delivery histograms, per sink (counters since it started). */
  deliveryLatency: Record<string, LatencyHistogram>;
}

/** The outbox per sink: counts kept with the writes, and each sink's oldest batch. */
export async function outboxBacklog(kv: Deno.Kv, now = Date.now()): Promise<Record<Sink, SinkBacklog>> {
  const [counts, ages] = await Promise.all([outboxCounts(kv), oldestAges(kv, now)]);
  return Object.fromEntries(
    SINKS.map((sink) => [sink, { ...counts.bySink[sink], oldestAgeMs: ages[sink] }]),
  ) as Record<Sink, SinkBacklog>;
}

/** Everything the console's dashboard shows, for the last `days` days. */
export async function adminStats(
  kv: Deno.Kv,
  options: { days: number; now?: number; latency?: () => Record<string, LatencyHistogram> },
): Promise<AdminStats> {
  const now = options.now ?? Date.now();
  const [window, outbox] = await Promise.all([
    readStatsWindow(kv, { days: options.days, now }),
    outboxBacklog(kv, now),
  ]);
  return { days: options.days, ...window, outbox, deliveryLatency: options.latency?.() ?? {} };
}
