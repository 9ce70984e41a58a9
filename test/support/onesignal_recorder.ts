/**
 * @module A local HTTP endpoint that plays OneSignal (`POST /notifications`) and
 * the Pusher HTTP events API (`POST /apps/{id}/events|batch_events`) for tests:
 * the real clients post to it, it records what they sent and can fail on purpose
 * (500, hang, down). It checks no signatures: it stands for the service, not its auth.
 */

/** One request as the recorder saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  /** The status it was answered with. */
  status: number;
  at: number;
}

/** One Pusher event the recorder accepted. */
export interface RecordedEvent {
  channel: string;
  name: string;
  data: unknown;
}

/** How the recorder answers: normally, 500, never (until stopped), or a custom answer. */
export type RecorderMode =
  | "ok"
  | "error"
  | "hang"
  | ((request: RecordedRequest) => { status: number; body: unknown } | null);

/** A running recorder. */
export interface Recorder extends AsyncDisposable {
  url: string;
  port: number;
  mode: RecorderMode;
  /** Every answer waits this long first (a slow service); 0 by default. */
  delayMs: number;
  /** Every request, answered or not. */
  requests: RecordedRequest[];
  /** Notifications OneSignal "accepted" (answered 200). */
  notifications(): Record<string, unknown>[];
  /** Pusher events accepted (answered 200), in arrival order. */
  events: RecordedEvent[];
  /** Stops listening (connections are refused) until `up()`. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): void;
  /** Resolves once `condition` holds, or rejects after `timeoutMs`. */
  until(condition: () => boolean, label: string, timeoutMs?: number): Promise<void>;
}

/** Starts a recorder on a free port (or `port`). */
export function startRecorder(port = 0): Recorder {
  const requests: RecordedRequest[] = [];
  const events: RecordedEvent[] = [];
  const hanging = new Set<() => void>();
  const ids = new Map<string, string>(); // idempotency_key → notification id, as OneSignal keeps them
  let server: Deno.HttpServer<Deno.NetAddr>;

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const text = await req.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the raw text
    }
    const request: RecordedRequest = {
      method: req.method,
      path: url.pathname,
      headers: Object.fromEntries(req.headers),
      body,
      status: 0,
      at: Date.now(),
    };
    requests.push(request);
    const answer = (status: number, payload: unknown) => {
      request.status = status;
      return Response.json(payload, { status });
    };
    if (recorder.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, recorder.delayMs));
    const mode = recorder.mode;
    if (mode === "hang") {
      await new Promise<void>((resolve) => hanging.add(resolve));
      return answer(503, { error: "stopped" });
    }
    if (mode === "error") return answer(500, { error: "recorder is failing on purpose" });
    if (typeof mode === "function") {
      const custom = mode(request);
      if (custom) return answer(custom.status, custom.body);
    }
    if (url.pathname === "/notifications") {
      const key = String((body as { idempotency_key?: string }).idempotency_key ?? crypto.randomUUID());
      if (!ids.has(key)) ids.set(key, crypto.randomUUID());
      return answer(200, { id: ids.get(key), external_id: null });
    }
    const match = /^\/apps\/[^/]+\/(events|batch_events)$/.exec(url.pathname);
    if (match) {
      const b = body as {
        batch?: { channel: string; name: string; data: string }[];
        channels?: string[];
        name?: string;
        data?: string;
      };
      const list = match[1] === "batch_events"
        ? (b.batch ?? []).map((e) => ({ channel: e.channel, name: e.name, data: parse(e.data) }))
        : (b.channels ?? []).map((channel) => ({ channel, name: b.name!, data: parse(b.data!) }));
      events.push(...list);
      return answer(200, {});
    }
    return answer(404, { error: "not found" });
  };

  const listen = (on: number) =>
    Deno.serve({ port: on, hostname: "127.0.0.1", onListen: () => {} }, handle) as Deno.HttpServer<
      Deno.NetAddr
    >;
  server = listen(port);
  const bound = server.addr.port;
  let running = true;

  const release = () => {
    for (const resolve of hanging) resolve();
    hanging.clear();
  };

  const recorder: Recorder = {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    mode: "ok",
    delayMs: 0,
    requests,
    events,
    notifications: () =>
      requests.filter((r) => r.path === "/notifications" && r.status === 200).map((r) =>
        r.body as Record<string, unknown>
      ),
    async down() {
      if (!running) return;
      running = false;
      release();
      await server.shutdown();
    },
    up() {
      if (running) return;
      server = listen(bound);
      running = true;
    },
    async until(condition, label, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${label}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async [Symbol.asyncDispose]() {
      release();
      if (running) await server.shutdown();
      running = false;
    },
  };
  return recorder;
}

function parse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
