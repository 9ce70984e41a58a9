/**
 * @module The outgoing queue: sends (and group creations) run one after another, so a
 * client's messages are stored in the order it sent them, each retried with the same body (and
 * so the same `clientMessageId`) through network failures, 5xx and 429, and held while offline.
 */
import { ChatClosedError } from "./errors.ts";
import { type RetryContext, withRetry } from "./retry.ts";

interface Job {
  attempt: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Runs idempotent writes in order, each until it succeeds or fails for good. */
export class SendQueue {
  readonly #context: RetryContext;
  readonly #jobs: Job[] = [];
  #running = false;

  constructor(context: RetryContext) {
    this.#context = context;
  }

  /** How many writes wait or run. */
  get size(): number {
    return this.#jobs.length;
  }

  /**
   * Queues an idempotent write; resolves with its result once stored.
   *
   * @throws what the last attempt threw when retrying stops; {ChatClosedError} on close().
   */
  enqueue<T>(attempt: () => Promise<T>): Promise<T> {
    if (this.#context.signal.aborted) return Promise.reject(new ChatClosedError());
    return new Promise<T>((resolve, reject) => {
      this.#jobs.push({ attempt, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) this.#run();
    });
  }

  /** Rejects every queued write (the one in flight fails through the aborted signal). */
  close(): void {
    for (const job of this.#jobs.splice(this.#running ? 1 : 0)) job.reject(new ChatClosedError());
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      for (let job = this.#jobs[0]; job; job = this.#jobs[0]) {
        try {
          job.resolve(await withRetry(job.attempt, this.#context));
        } catch (error) {
          job.reject(error);
        }
        this.#jobs.shift();
      }
    } finally {
      this.#running = false;
    }
  }
}
