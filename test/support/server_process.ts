/**
 * @module Runs `main.ts` as a real server process (as `deno task start` does),
 * for tests that need several processes, signals or crashes.
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

/** A server process and how to reach it. */
export interface ServerProcess extends AsyncDisposable {
  url: string;
  port: number;
  child: Deno.ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** A token from `/api/dev/login` (needs demo mode or `DEV_LOGIN=1`). */
  login(userId: string, name?: string): Promise<string>;
  /** Sends a signal and waits for the process to exit; resolves with its exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/** Extra ways to run the server process. */
export interface StartOptions {
  /** Flags for `deno run` before the script, e.g. `["--inspect=127.0.0.1:9229"]` to profile it. */
  denoFlags?: string[];
  /** Runs `deno task start` instead: the README's command, with its permissions, not `-A`. */
  task?: "start";
}

/** Starts `main.ts` with `env` on a free port and waits until it listens. */
export async function startServer(
  env: Record<string, string>,
  timeoutMs = 20_000,
  options: StartOptions = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: options.task ? ["task", options.task] : ["run", "-A", ...(options.denoFlags ?? []), MAIN],
    cwd: ROOT,
    env: { PORT: "0", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const listening = Promise.withResolvers<number>();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      const port = /listening on http:\/\/[^:]+:(\d+)/.exec(output)?.[1];
      if (port) listening.resolve(Number(port));
    }
  };
  const readers = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const timer = setTimeout(() => listening.reject(new Error(`server did not start:\n${output}`)), timeoutMs);
  status.then(() => listening.reject(new Error(`server exited before listening:\n${output}`)));
  let port: number;
  try {
    port = await listening.promise;
  } catch (err) {
    if (!exited) child.kill("SIGKILL");
    await status;
    await readers;
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const url = `http://127.0.0.1:${port}`;
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (!exited) child.kill(signal);
    const { code } = await status;
    await readers;
    return code;
  };
  return {
    url,
    port,
    child,
    output: () => output,
    async login(userId, name = userId) {
      const res = await fetch(`${url}/api/dev/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ userId, name }),
      });
      if (res.status !== 200) throw new Error(`login ${userId}: ${res.status} ${await res.text()}`);
      return (await res.json()).token;
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop("SIGTERM");
    },
  };
}
