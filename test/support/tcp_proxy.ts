/**
 * @module A TCP proxy in front of a server, for client tests of a flaky network: it forwards
 * bytes both ways (HTTP and WebSocket alike), and on demand cuts every connection, refuses new
 * ones, points at another port (a restarted server), or loses the answer to one request after
 * the server has handled it.
 */

/** A proxy on 127.0.0.1 and its failure switches. */
export interface TcpProxy extends AsyncDisposable {
  port: number;
  url: string;
  /** Requests seen per first line prefix, e.g. `"POST /api/chat/send"`, and WebSocket upgrades (`"GET /app/"`). */
  count(prefix: string): number;
  /** Connections refused since the proxy started (while cut, or with nothing upstream). */
  refused(): number;
  /** Sends new connections to another upstream port. */
  retarget(port: number): void;
  /** Cuts every open connection and refuses new ones until `resume()`. */
  cut(): void;
  resume(): void;
  /**
   * The next request whose first line starts with `prefix` reaches the server, but its answer
   * never reaches the client: the connection is cut as the answer arrives. Resolves then.
   */
  loseNextAnswer(prefix: string): Promise<void>;
}

interface Pair {
  client: Deno.TcpConn;
  upstream: Deno.TcpConn;
}

/** Starts a proxy to `127.0.0.1:upstreamPort`. */
export function startTcpProxy(upstreamPort: number): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pairs = new Set<Pair>();
  const seen: string[] = [];
  let target = upstreamPort;
  let refusing = false;
  let refusedCount = 0;
  let loss: { prefix: string; lost: () => void } | null = null;
  const tasks = new Set<Promise<void>>();

  const close = (pair: Pair) => {
    pairs.delete(pair);
    for (const conn of [pair.client, pair.upstream]) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };

  const pipe = async (pair: Pair) => {
    // Set when a request to lose went upstream on this connection: its answer is the next bytes back.
    let losing: (() => void) | null = null;
    const up = async () => {
      const buffer = new Uint8Array(64 * 1024);
      for (let n = await pair.client.read(buffer); n !== null; n = await pair.client.read(buffer)) {
        const chunk = buffer.subarray(0, n);
        const line = new TextDecoder().decode(chunk.subarray(0, 200)).split("\r\n", 1)[0]!;
        if (/^[A-Z]+ \/\S* HTTP\/1\.1$/.test(line)) {
          seen.push(line);
          if (loss && line.startsWith(loss.prefix)) {
            losing = loss.lost;
            loss = null;
          }
        }
        await pair.upstream.write(chunk);
      }
    };
    const down = async () => {
      const buffer = new Uint8Array(64 * 1024);
      for (let n = await pair.upstream.read(buffer); n !== null; n = await pair.upstream.read(buffer)) {
        if (losing) {
          close(pair); // the server answered; the client never hears it
          losing();
          return;
        }
        await pair.client.write(buffer.subarray(0, n));
      }
    };
    await Promise.allSettled([up(), down()]);
    close(pair);
  };

  const accept = async () => {
    for await (const client of listener) {
      if (refusing) {
        refusedCount++;
        client.close();
        continue;
      }
      let upstream: Deno.TcpConn;
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port: target });
      } catch {
        refusedCount++;
        client.close(); // nothing listens there (the server is down)
        continue;
      }
      const pair = { client, upstream };
      pairs.add(pair);
      const task = pipe(pair).finally(() => tasks.delete(task));
      tasks.add(task);
    }
  };
  const accepting = accept().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    refused: () => refusedCount,
    count: (prefix) => seen.filter((line) => line.startsWith(prefix)).length,
    retarget(next) {
      target = next;
    },
    cut() {
      refusing = true;
      for (const pair of [...pairs]) close(pair);
    },
    resume() {
      refusing = false;
    },
    loseNextAnswer(prefix) {
      return new Promise((resolve) => loss = { prefix, lost: resolve });
    },
    async [Symbol.asyncDispose]() {
      refusing = true;
      listener.close();
      for (const pair of [...pairs]) close(pair);
      await accepting;
      await Promise.allSettled([...tasks]);
    },
  };
}
