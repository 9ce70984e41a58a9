/**
 * @module Outbox wake-ups: the one queue message a commit enqueues for the
 * streams it wrote to, and reading such messages back.
 */
import { keys } from "../storage/keys.ts";
import type { QueueMessage } from "../storage/commit_batcher.ts";
import { isSink, type Wake, type WakeMessage } from "./outbox.ts";

/** The queue options of a wake message: the queue retries a failing handler, then parks it. */
const WAKE_BACKOFF_SCHEDULE = [1000, 5000, 30_000, 120_000];
/** A wake message stays well below KV's 64 KiB value limit; bigger ones ask for a sweep. */
const MAX_WAKE_MESSAGE_BYTES = 32 * 1024;

/**
 * The one queue message a commit enqueues for its wake items (the batcher's
 * `toQueueMessage`). `delayMs` makes it a safety net behind the in-process
 * nudge; `keysIfUndelivered` parks it where the sweep finds it.
 */
export function wakeQueueMessage(wake: unknown[], options: { delayMs?: number } = {}): QueueMessage {
  const unique = uniqueWakes(wake);
  let value: WakeMessage = { kind: "outbox.wake", wake: unique };
  if (JSON.stringify(value).length > MAX_WAKE_MESSAGE_BYTES) {
    value = { kind: "outbox.wake", wake: [], sweep: true };
  }
  return {
    value,
    options: {
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      keysIfUndelivered: [keys.outboxLostWake(crypto.randomUUID())],
      backoffSchedule: WAKE_BACKOFF_SCHEDULE,
    },
  };
}

/** Whether a queue message is an outbox wake-up. */
export function isWakeMessage(value: unknown): value is WakeMessage {
  return typeof value === "object" && value !== null && (value as WakeMessage).kind === "outbox.wake" &&
    Array.isArray((value as WakeMessage).wake);
}

/** The valid wake items among `wake`, once each. */
export function uniqueWakes(wake: unknown[]): Wake[] {
  const seen = new Map<string, Wake>();
  for (const w of wake) {
    if (typeof w !== "object" || w === null) continue;
    const { sink, stream } = w as Wake;
    if (isSink(sink) && typeof stream === "string") seen.set(streamId(sink, stream), { sink, stream });
  }
  return [...seen.values()];
}

/** One sink's stream as a single map key. */
export function streamId(sink: string, stream: string): string {
  return `${sink}\u0000${stream}`;
}
