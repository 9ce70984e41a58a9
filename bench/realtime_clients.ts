/**
 * @module Many `pusher-js` clients in one process, for the realtime bench:
 * each connects to the server's embedded gateway, authorizes one private
 * channel through `POST /api/pusher/auth` with its bearer token, and records
 * when each `new-message` arrives. Run by `realtime.ts`:
 * `deno run -A bench/realtime_clients.ts <input.json>`; prints `READY {...}`
 * once every client is subscribed, and `REPORT {...}` when stdin closes.
 */
import * as pusherJs from "pusher-js/worker/index.js";
import { wallClockMs } from "./stats.ts";

// Deno types this CommonJS default export as the whole module; at runtime it is the class.
const Pusher = pusherJs.default as unknown as typeof pusherJs.default.default;
type Pusher = pusherJs.default;

/** What the orchestrator passes in. */
export interface ClientsInput {
  url: string;
  key: string;
  wsHost: string;
  wsPort: number;
  clients: { userId: string; token: string; channel: string }[];
  /** Clients connecting at once. */
  wave: number;
  /** Give up connecting after this long. */
  timeoutMs: number;
}

/** One `new-message` as a client saw it: message id, the sender's timestamp, arrival time. */
export type Delivery = [id: string, sentAt: number, receivedAt: number];

/** What the process reports when stdin closes. */
export interface ClientsReport {
  deliveries: Delivery[];
  /** Clients disconnected at report time (they should all still be connected). */
  disconnected: number;
  errors: string[];
}

if (import.meta.main) {
  const input: ClientsInput = JSON.parse(await Deno.readTextFile(Deno.args[0]!));
  const deliveries: Delivery[] = [];
  const errors: string[] = [];
  const clients: Pusher[] = [];
  const started = performance.now();
  const connectOne = (spec: ClientsInput["clients"][number]) =>
    new Promise<void>((resolve, reject) => {
      const client = new Pusher(input.key, {
        cluster: "local",
        wsHost: input.wsHost,
        wsPort: input.wsPort,
        forceTLS: false,
        enabledTransports: ["ws"],
        disableStats: true,
        channelAuthorization: {
          endpoint: `${input.url}/api/pusher/auth`,
          transport: "ajax",
          headers: { Authorization: `Bearer ${spec.token}` },
        },
      });
      clients.push(client);
      const channel = client.subscribe(spec.channel);
      channel.bind("pusher:subscription_succeeded", () => resolve());
      channel.bind("pusher:subscription_error", (err: unknown) => reject(new Error(JSON.stringify(err))));
      channel.bind("new-message", (data: { id?: string; content?: string }) => {
        const sentAt = Number(/^rt (\d+(\.\d+)?)/.exec(data?.content ?? "")?.[1]);
        if (data?.id && Number.isFinite(sentAt)) deliveries.push([data.id, sentAt, wallClockMs()]);
      });
    });
  for (let i = 0; i < input.clients.length; i += input.wave) {
    if (performance.now() - started > input.timeoutMs) {
      errors.push(`connecting took longer than ${input.timeoutMs} ms`);
      break;
    }
    const results = await Promise.allSettled(input.clients.slice(i, i + input.wave).map(connectOne));
    for (const r of results) if (r.status === "rejected") errors.push(String(r.reason));
  }
  console.log(
    `READY ${
      JSON.stringify({ clients: clients.length, errors: errors.length, ms: performance.now() - started })
    }`,
  );
  // Wait for the orchestrator to close stdin, then report.
  for await (const _ of Deno.stdin.readable) { /* drain until closed */ }
  const disconnected = clients.filter((c) => c.connection.state !== "connected").length;
  const report: ClientsReport = { deliveries, disconnected, errors: errors.slice(0, 20) };
  console.log(`REPORT ${JSON.stringify(report)}`);
  for (const c of clients) c.disconnect();
  Deno.exit(0);
}
