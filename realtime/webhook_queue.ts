/** @module The gateway's webhooks: batched per microtask, delivered one batch after another. */
import type { GatewayOptions, WebhookEvent } from "./gateway_api.ts";

/** Webhook events waiting for delivery, in order. */
export interface WebhookQueue {
  push(event: WebhookEvent): void;
  /** Resolves once every batch pushed so far has been delivered. */
  drain(): Promise<void>;
}

/** Batches webhook events per microtask and delivers the batches one after another. */
export function createWebhookQueue(
  onWebhook: GatewayOptions["onWebhook"],
): WebhookQueue {
  if (onWebhook === undefined) {
    return {
      push() {},
      drain: () => Promise.resolve(),
    };
  }
  let pending: WebhookEvent[] = [];
  let chain: Promise<void> = Promise.resolve();
  const flush = () => {
    const batch = pending;
    pending = [];
    chain = chain.then(() => onWebhook(batch)).catch((error) => {
      console.error("realtime: onWebhook failed", error);
    });
  };
  return {
    push(event) {
      if (pending.length === 0) queueMicrotask(flush);
      pending.push(event);
    },
    async drain() {
      await Promise.resolve(); // lets an already scheduled flush run first
      await chain;
    },
  };
}
