/**
 * @module What `GET /api/admin/stats` and `/api/admin/outbox` answer: the
 * operator counters of a window of days, and the outbox per sink with the age
 * of its oldest batch — all from counters and short lists, cheap at any scale.
 */
import type { LatencyHistogram } from "../outbox/metrics.ts";
import { outboxBacklog, type SinkBacklog } from "../outbox/operations.ts";
import type { Sink } from "../outbox/outbox.ts";
import { readStatsWindow, type StatsWindow } from "../stats/read.ts";

/** The answer of `GET /api/admin/stats`. */
export interface AdminStats extends StatsWindow {
  days: number;
  outbox: Record<Sink, SinkBacklog>;
  /** This process's commit-to-delivery histograms, per sink (counters since it started). */
  deliveryLatency: Record<string, LatencyHistogram>;
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
