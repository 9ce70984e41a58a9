/**
 * @module In-process counters of the outbox and its sinks, rendered in the
 * Prometheus text format together with gauges read from KV.
 */

/** Upper bounds (seconds) of the commit-to-delivery latency histogram. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** The outbox counts `/metrics` shows as gauges. */
export interface OutboxGauges {
  pending: number;
  retrying: number;
  dead: number;
  bySink?: Record<string, { pending: number; retrying: number; dead: number }>;
}

/** What a sink reported about a OneSignal push. */
export type PushOutcomeKind = "sent" | "not_delivered" | "skipped";

/** A sink's delivery latencies as `/api/admin/stats` shows them; `buckets` are cumulative, as in Prometheus. */
export interface LatencyHistogram {
  count: number;
  meanSeconds: number;
  buckets: { le: number; count: number }[];
}

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Counters of one process; `/metrics` renders them. */
export class OutboxMetrics {
  readonly #counters = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();

  /** Counts delivered batches and records how long each took from its commit. */
  delivered(sink: string, createdAt: number[], now = Date.now()): void {
    this.#add(`outbox_deliveries_total{sink="${sink}"}`, createdAt.length);
    let h = this.#latency.get(sink);
    if (!h) this.#latency.set(sink, h = { counts: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 });
    for (const at of createdAt) {
      const seconds = Math.max(0, now - at) / 1000;
      h.sum += seconds;
      h.count++;
      LATENCY_BUCKETS.forEach((bound, i) => {
        if (seconds <= bound) h.counts[i]!++;
      });
    }
  }

  /** Counts a failed delivery attempt. */
  failed(sink: string): void {
    this.#add(`outbox_failures_total{sink="${sink}"}`, 1);
  }

  /** Counts a batch moved to the dead-letter area. */
  dead(sink: string): void {
    this.#add(`outbox_dead_letters_total{sink="${sink}"}`, 1);
  }

  /** Counts what happened to one OneSignal push (one recipient group). */
  pushOutcome(outcome: PushOutcomeKind, n = 1): void {
    this.#add(`push_outcomes_total{outcome="${outcome}"}`, n);
  }

  /** Counts a typing indicator dropped under overload or failure. */
  typingDropped(): void {
    this.#add("realtime_typing_dropped_total", 1);
  }

  /** Counts a typing indicator published. */
  typingPublished(n = 1): void {
    this.#add("realtime_typing_published_total", n);
  }

  /** Counts a room commit's batch whose room-channel events went out at commit (or were left to the outbox). */
  earlyBatch(published: boolean): void {
    this.#add(`realtime_early_batches_total{outcome="${published ? "published" : "left_to_outbox"}"}`, 1);
  }

  /** The value of one counter line (tests and benchmarks). */
  counter(name: string): number {
    return this.#counters.get(name) ?? 0;
  }

  /** Commit-to-delivery latencies seen so far for a sink: count and mean seconds. */
  latency(sink: string): { count: number; meanSeconds: number } {
    const h = this.#latency.get(sink);
    return { count: h?.count ?? 0, meanSeconds: h && h.count > 0 ? h.sum / h.count : 0 };
  }

  /** The commit-to-delivery histogram of this process per sink: cumulative counts per upper bound (seconds). */
  latencyHistograms(): Record<string, LatencyHistogram> {
    const out: Record<string, LatencyHistogram> = {};
    for (const [sink, h] of this.#latency) {
      out[sink] = {
        count: h.count,
        meanSeconds: h.count > 0 ? h.sum / h.count : 0,
        buckets: LATENCY_BUCKETS.map((le, i) => ({ le, count: h.counts[i]! })),
      };
    }
    return out;
  }

  /** The Prometheus text exposition of the counters plus the outbox counts read by the caller. */
  render(outbox: OutboxGauges): string {
    const lines: string[] = [];
    const help = (name: string, type: string, text: string) =>
      lines.push(`# HELP ${name} ${text}`, `# TYPE ${name} ${type}`);
    const states = ["pending", "retrying", "dead"] as const;
    help("outbox_batches", "gauge", "Outbox batches by state (pending, retrying, dead), all sinks");
    for (const state of states) lines.push(`outbox_batches{state="${state}"} ${outbox[state]}`);
    help("outbox_sink_batches", "gauge", "Outbox batches by sink and state");
    for (const [sink, counts] of Object.entries(outbox.bySink ?? {})) {
      for (const state of states) {
        lines.push(`outbox_sink_batches{sink="${sink}",state="${state}"} ${counts[state]}`);
      }
    }
    const families: [string, string][] = [
      ["outbox_deliveries_total", "Batches delivered, per sink"],
      ["outbox_failures_total", "Failed delivery attempts, per sink"],
      ["outbox_dead_letters_total", "Batches moved to the dead-letter area, per sink"],
      ["push_outcomes_total", "OneSignal pushes by outcome"],
      ["realtime_typing_published_total", "Typing indicators published"],
      ["realtime_typing_dropped_total", "Typing indicators dropped under overload"],
      [
        "realtime_early_batches_total",
        "Room commits whose room-channel events this gateway sent at commit, or left to the outbox",
      ],
    ];
    for (const [family, text] of families) {
      help(family, "counter", text);
      for (const [line, value] of this.#counters) {
        if (line === family || line.startsWith(`${family}{`)) lines.push(`${line} ${value}`);
      }
    }
    help("outbox_delivery_latency_seconds", "histogram", "Seconds from a batch's commit to its delivery");
    for (const [sink, h] of this.#latency) {
      LATENCY_BUCKETS.forEach((bound, i) =>
        lines.push(`outbox_delivery_latency_seconds_bucket{sink="${sink}",le="${bound}"} ${h.counts[i]}`)
      );
      lines.push(`outbox_delivery_latency_seconds_bucket{sink="${sink}",le="+Inf"} ${h.count}`);
      lines.push(`outbox_delivery_latency_seconds_sum{sink="${sink}"} ${h.sum.toFixed(6)}`);
      lines.push(`outbox_delivery_latency_seconds_count{sink="${sink}"} ${h.count}`);
    }
    return lines.join("\n") + "\n";
  }

  #add(line: string, n: number): void {
    this.#counters.set(line, (this.#counters.get(line) ?? 0) + n);
  }
}
