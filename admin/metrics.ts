/** @module The whole `/metrics` text: this process's outbox counters, then the cluster-wide operator counters. */
import type { OutboxMetrics } from "../outbox/metrics.ts";
import { oldestAges, outboxCounts } from "../outbox/operations.ts";
import { renderStats } from "../stats/prometheus.ts";
import { readStatsTotals } from "../stats/read.ts";

/** Renders `/metrics`: a few counter reads and one short list per sink, whatever the traffic or backlog. */
export async function renderMetrics(kv: Deno.Kv, metrics: OutboxMetrics): Promise<string> {
  const [counts, ages, totals] = await Promise.all([outboxCounts(kv), oldestAges(kv), readStatsTotals(kv)]);
  return metrics.render(counts) + renderStats(totals, ages);
}
