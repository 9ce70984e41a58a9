/** @module What the watcher asks of a sink adapter, and how delivery failures are told apart. */
import type { OutboxBatch, OutboxEvent } from "./outbox.ts";

/** How far a delivery got: the first `delivered` batches went out; `error` stopped the rest. */
export interface DeliveryReport {
  delivered: number;
  error?: unknown;
}

/** Delivers batches of one stream, in order. Every call must be safe to repeat. */
export interface OutboxSink<E = OutboxEvent> {
  deliver(batches: OutboxBatch<E>[]): Promise<DeliveryReport>;
}

/** A failure that no retry can fix (e.g. the service rejected the request as malformed). */
export class PermanentDeliveryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermanentDeliveryError";
  }
}

/** Whether an HTTP status means "this request will never succeed": 4xx other than auth, 404 and 429. */
export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && ![401, 403, 404, 408, 409, 425, 429].includes(status);
}

/** A short, log-safe description of a delivery error. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { status?: unknown; code?: unknown }).status ??
      (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    const prefix = typeof status === "number" ? `HTTP ${status} ` : "";
    return oneLine(`${prefix}${err.message.split("\nHeaders:")[0]}${cause}`);
  }
  return oneLine(String(err));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 500);
}
