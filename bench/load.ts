/**
 * @module Closed-loop HTTP load against 127.0.0.1: `wrk` with a generated Lua
 * script when it is installed, else a bounded Deno `fetch` loader in its own
 * process (slower, and it says so). Every run is bounded in time.
 */
import { cpuTimeMs, round } from "./stats.ts";

/** One kind of request the load picks from at random. */
export interface LoadRequest {
  method: "POST" | "GET";
  path: string;
  token: string;
  /** JSON body; `{n}` in it is replaced by a per-request counter (so contents differ). */
  body?: string;
}

/** What one load run measured. */
export interface LoadResult {
  tool: "wrk" | "deno-fetch";
  connections: number;
  seconds: number;
  requests: number;
  /** Responses that were not 2xx/3xx. */
  non2xx: number;
  socketErrors: number;
  requestsPerSec: number;
  /** Successful requests per second. */
  okPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
  /** CPU the load generator itself used, as a share of one core. */
  loaderCpu: number;
}

/** Whether `wrk` is on the PATH. */
export async function haveWrk(): Promise<boolean> {
  try {
    // `wrk --version` exits with 1, but it ran: only a missing binary throws.
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** Runs the load for `seconds` with `connections` connections. */
export async function runLoad(
  baseUrl: string,
  requests: LoadRequest[],
  options: { connections: number; seconds: number; threads?: number; useWrk: boolean },
): Promise<LoadResult> {
  if (!baseUrl.startsWith("http://127.0.0.1:")) throw new Error("bench load only targets 127.0.0.1");
  return options.useWrk
    ? await runWrk(baseUrl, requests, options)
    : await runFetchLoader(baseUrl, requests, options);
}

function luaString(s: string): string {
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}

/** The Lua script: a table of requests, a random pick per request, a JSON summary at the end. */
function wrkScript(requests: LoadRequest[]): string {
  const rows = requests.map((r) => {
    const [prefix, suffix] = (r.body ?? "").split("{n}");
    return `{m=${luaString(r.method)},p=${luaString(r.path)},t=${luaString(r.token)},a=${
      luaString(prefix ?? "")
    },z=${suffix === undefined ? "nil" : luaString(suffix)}}`;
  });
  return `
local reqs = {
${rows.join(",\n")}
}
local n = #reqs
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end
function request()
  counter = counter + 1
  local r = reqs[math.random(n)]
  local headers = { ["Authorization"] = "Bearer " .. r.t }
  local body = nil
  if r.a ~= "" then
    headers["Content-Type"] = "application/json"
    if r.z then body = r.a .. (tid or 0) .. "-" .. counter .. r.z else body = r.a end
  end
  return wrk.format(r.m, r.p, headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"mean":%f,"max":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
`;
}

async function runWrk(
  baseUrl: string,
  requests: LoadRequest[],
  options: { connections: number; seconds: number; threads?: number },
): Promise<LoadResult> {
  const dir = await Deno.makeTempDir({ prefix: "bench-wrk-" });
  try {
    const script = `${dir}/load.lua`;
    await Deno.writeTextFile(script, wrkScript(requests));
    const threads = options.threads ?? 2;
    const child = new Deno.Command("wrk", {
      args: [
        `-t${threads}`,
        `-c${options.connections}`,
        `-d${options.seconds}s`,
        "--timeout",
        "10s",
        "-s",
        script,
        baseUrl,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // wrk stops itself after -d; the kill is only a bound if it hangs.
    const { out, cpuMs } = await runLoader(child, options.seconds);
    const text = new TextDecoder().decode(out.stdout);
    const line = /WRKJSON (\{.*\})/.exec(text)?.[1];
    if (!line) throw new Error(`wrk printed no summary:\n${text}\n${new TextDecoder().decode(out.stderr)}`);
    const r = JSON.parse(line);
    const seconds = r.duration_us / 1e6;
    const socketErrors = r.connect + r.read + r.write + r.timeout;
    return {
      tool: "wrk",
      connections: options.connections,
      seconds: round(seconds, 2),
      requests: r.requests,
      non2xx: r.status,
      socketErrors,
      requestsPerSec: round(r.requests / seconds, 1),
      okPerSec: round((r.requests - r.status) / seconds, 1),
      latencyMs: {
        p50: round(r.p50 / 1000),
        p90: round(r.p90 / 1000),
        p99: round(r.p99 / 1000),
        mean: round(r.mean / 1000),
        max: round(r.max / 1000),
      },
      loaderCpu: round(cpuMs / 1000 / seconds, 2),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Waits for a load generator's output, sampling the CPU time it uses; a loader
 * that hangs is killed 30 s after its run should have ended.
 */
async function runLoader(
  child: Deno.ChildProcess,
  seconds: number,
): Promise<{ out: Deno.CommandOutput; cpuMs: number }> {
  const cpu0 = cpuTimeMs(child.pid);
  let cpu1 = cpu0;
  const sampler = setInterval(() => {
    const now = cpuTimeMs(child.pid);
    if (Number.isFinite(now)) cpu1 = now;
  }, 200);
  const guard = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
  try {
    return { out: await child.output(), cpuMs: cpu1 - cpu0 };
  } finally {
    clearTimeout(guard);
    clearInterval(sampler);
  }
}

async function runFetchLoader(
  baseUrl: string,
  requests: LoadRequest[],
  options: { connections: number; seconds: number },
): Promise<LoadResult> {
  const dir = await Deno.makeTempDir({ prefix: "bench-fetch-" });
  try {
    const input = `${dir}/load.json`;
    await Deno.writeTextFile(input, JSON.stringify({ baseUrl, requests, ...options }));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./fetch_load.ts", import.meta.url).pathname, input],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const { out, cpuMs } = await runLoader(child, options.seconds);
    const result = JSON.parse(new TextDecoder().decode(out.stdout)) as LoadResult;
    return { ...result, loaderCpu: round(cpuMs / 1000 / result.seconds, 2) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
