/**
 * @module A bare WebSocket client of the Pusher protocol, for what pusher-js hides (close codes,
 * pings, raw errors, frames it would never send): every frame received is kept in order, and a
 * ping/pong round trip proves that nothing else is on its way.
 */

/** One frame as received; server frames carry `data` as a JSON string. */
export interface Frame {
  event: string;
  channel?: string;
  data?: unknown;
  user_id?: string;
}

/** A connected (or connecting) raw socket. */
export interface RawSocket {
  ws: WebSocket;
  /** Every frame received so far, in order (including those `next()` returned). */
  received: Frame[];
  /** The next frame not yet returned by `next()`. */
  next(): Promise<Frame>;
  /** The next frame for which `match` holds, skipping others. */
  nextMatching(match: (frame: Frame) => boolean, label: string): Promise<Frame>;
  /** Sends a frame (objects are JSON-encoded, strings and bytes sent as they are). */
  send(frame: unknown): void;
  /**
   * Sends `pusher:ping` and waits for its `pusher:pong`, returning the frames that arrived
   * before it: the server answers in order, so whatever it sent earlier has arrived by then.
   */
  roundTrip(): Promise<Frame[]>;
  /** Resolves with the close event. */
  closed: Promise<CloseEvent>;
}

/** How long any wait lasts before it fails the test. */
export const RAW_WAIT_MS = 5000;

/** Resolves with the first value `bind` reports, or rejects after `RAW_WAIT_MS`. */
export function within<T>(label: string, bind: (resolve: (value: T) => void) => void): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${label}`)), RAW_WAIT_MS);
  bind(resolve);
  return promise.finally(() => clearTimeout(timer));
}

/** Opens a raw socket to `url` (e.g. `ws://127.0.0.1:8000/app/key?protocol=7`). */
export function rawSocket(url: string): RawSocket {
  const ws = new WebSocket(url);
  const received: Frame[] = [];
  let cursor = 0;
  const waiting: (() => void)[] = [];
  const closed = Promise.withResolvers<CloseEvent>();
  ws.onmessage = (event) => {
    received.push(JSON.parse(event.data));
    for (const wake of waiting.splice(0)) wake();
  };
  ws.onclose = (event) => {
    closed.resolve(event);
    for (const wake of waiting.splice(0)) wake();
  };
  const nextMatching = async (match: (frame: Frame) => boolean, label: string): Promise<Frame> => {
    const deadline = Date.now() + RAW_WAIT_MS;
    while (true) {
      while (cursor < received.length) {
        const frame = received[cursor++]!;
        if (match(frame)) return frame;
      }
      if (ws.readyState === WebSocket.CLOSED) throw new Error(`Socket closed while waiting for ${label}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${label}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  const send = (frame: unknown) =>
    ws.send(typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame));
  return {
    ws,
    received,
    next: () => nextMatching(() => true, "a frame"),
    nextMatching,
    send,
    async roundTrip() {
      const from = cursor;
      send({ event: "pusher:ping", data: {} });
      await nextMatching((frame) => frame.event === "pusher:pong", "pusher:pong");
      return received.slice(from, cursor - 1);
    },
    closed: closed.promise,
  };
}

/** The socket id from `pusher:connection_established` (the first frame). */
export async function socketIdOf(socket: RawSocket): Promise<string> {
  const frame = await socket.nextMatching(
    (f) => f.event === "pusher:connection_established",
    "pusher:connection_established",
  );
  return JSON.parse(frame.data as string).socket_id;
}

/** Waits for the close event, failing after `RAW_WAIT_MS`. */
export function closeEventOf(socket: RawSocket): Promise<CloseEvent> {
  return within("close", (resolve) => void socket.closed.then(resolve));
}
