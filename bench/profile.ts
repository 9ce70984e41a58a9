/**
 * @module CPU profiles of a server process through its V8 inspector (the Chrome
 * DevTools protocol): start before a measured window, stop after it, and sum
 * the self time per function and per file. Used by `--profile`.
 */
import { round } from "./stats.ts";

/** Self time shares of a profile. */
export interface ProfileSummary {
  samples: number;
  /** Share of samples with the JS thread idle (waiting on I/O, KV or timers). */
  idle: number;
  topFunctions: { name: string; share: number }[];
  topFiles: { file: string; share: number }[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
}

/** A running profile of the inspector at `port`; `stop()` ends it and returns the raw profile and summary. */
export async function startProfile(
  port: number,
): Promise<{ stop(): Promise<{ profile: unknown; summary: ProfileSummary }> }> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let nextId = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  };
  const call = <T>(method: string, params: unknown = {}) =>
    new Promise<T>((resolve) => {
      const id = ++nextId;
      waiting.set(id, resolve as (result: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 500 });
  await call("Profiler.start");
  return {
    async stop() {
      const { profile } = await call<{ profile: CpuProfile }>("Profiler.stop");
      ws.close();
      return { profile, summary: summarizeProfile(profile) };
    },
  };
}

function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = nodes.get(id)!;
    const file =
      frame.url.replace(/^.*\/registry\.npmjs\.org\//, "npm:").replace(/^file:\/\/\/.*?\/main\//, "") ||
      "(native)";
    const name = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + 1);
    byFile.set(file, (byFile.get(file) ?? 0) + 1);
  }
  const total = profile.samples.length || 1;
  const top = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, v]) => [k, round(v / total, 3)] as const);
  const idle = [...byFunction].filter(([k]) => k.startsWith("(idle)")).reduce((n, [, v]) => n + v, 0);
  return {
    samples: profile.samples.length,
    idle: round(idle / total, 3),
    topFunctions: top(byFunction).map(([name, share]) => ({ name, share })),
    topFiles: top(byFile).map(([file, share]) => ({ file, share })),
  };
}

/**
 * Runs a full garbage collection in the process whose inspector listens on
 * `port` (twice, so that weakly held garbage goes too), so that its memory
 * shows what it keeps rather than what it has not collected yet.
 */
export async function collectGarbage(port: number): Promise<void> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let nextId = 0;
  const call = (method: string) =>
    new Promise<void>((resolve) => {
      const id = ++nextId;
      ws.onmessage = (event) => {
        if (JSON.parse(event.data).id === id) resolve();
      };
      ws.send(JSON.stringify({ id, method, params: {} }));
    });
  await call("HeapProfiler.enable");
  await call("HeapProfiler.collectGarbage");
  await call("HeapProfiler.collectGarbage");
  await call("HeapProfiler.disable");
  const closed = new Promise((resolve) => ws.onclose = resolve);
  ws.close();
  await closed;
}

/** A free TCP port on 127.0.0.1 for an inspector. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts a profile when `port` is set; the returned `stop()` resolves with its summary (or undefined). */
export async function maybeProfile(port: number | undefined) {
  const running = port === undefined ? undefined : await startProfile(port);
  return { stop: async () => running ? (await running.stop()).summary : undefined };
}
