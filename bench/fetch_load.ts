/**
 * @module The fallback load generator when `wrk` is missing: `connections`
 * closed loops of `fetch` for a bounded time, printing a `LoadResult` as JSON.
 * Run by `load.ts` in its own process: `deno run -A bench/fetch_load.ts <input.json>`.
 */
import type { LoadRequest, LoadResult } from "./load.ts";
import { round, summarize } from "./stats.ts";

interface Input {
  baseUrl: string;
  requests: LoadRequest[];
  connections: number;
  seconds: number;
}

if (import.meta.main) {
  const input: Input = JSON.parse(await Deno.readTextFile(Deno.args[0]!));
  console.log(JSON.stringify(await fetchLoad(input)));
}

/** Runs the closed loops until `seconds` pass; each request times out after 10 s. */
export async function fetchLoad(input: Input): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  let socketErrors = 0;
  let counter = 0;
  const start = performance.now();
  const deadline = start + input.seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const r = input.requests[Math.floor(Math.random() * input.requests.length)]!;
      const body = r.body?.replace("{n}", `f-${counter++}`);
      const t0 = performance.now();
      try {
        const res = await fetch(`${input.baseUrl}${r.path}`, {
          method: r.method,
          headers: {
            Authorization: `Bearer ${r.token}`,
            ...(body ? { "Content-Type": "application/json" } : {}),
          },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (res.status >= 400) non2xx++;
      } catch {
        socketErrors++;
      }
    }
  };
  await Promise.all(Array.from({ length: input.connections }, loop));
  const seconds = (performance.now() - start) / 1000;
  const s = summarize(latencies);
  return {
    tool: "deno-fetch",
    connections: input.connections,
    seconds: round(seconds, 2),
    requests: latencies.length,
    non2xx,
    socketErrors,
    requestsPerSec: round(latencies.length / seconds, 1),
    okPerSec: round((latencies.length - non2xx) / seconds, 1),
    latencyMs: { p50: s.p50, p90: s.p90, p99: s.p99, mean: s.mean, max: s.max },
    loaderCpu: 0,
  };
}
