/**
 * @module The push sink around the real `@onesignal/node-onesignal` client:
 * preferences are read at delivery, each recipient gets one notification with
 * an idempotency key of the event and the recipient, and OneSignal's answer is
 * recorded per recipient.
 */
import {
  createConfiguration,
  DefaultApi,
  Notification,
  type PromiseHttpLibrary,
  type RequestContext,
  ResponseContext,
  ServerConfiguration,
  wrapHttpLibrary,
} from "@onesignal/node-onesignal";
import { pushCounters } from "../stats/counters.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import { getManyPreferences } from "../storage/preferences.ts";
import type { OutboxMetrics } from "./metrics.ts";
import type { OutboxBatch, PushEvent } from "./outbox.ts";
import {
  buildNotification,
  buildNotificationPush,
  type NotificationBody,
  notificationTarget,
  pushEventId,
  type PushTarget,
  pushTargets,
} from "./push_notification.ts";
import { isPermanentStatus, type OutboxSink, PermanentDeliveryError } from "./sink.ts";

/** OneSignal's public API. */
export const ONESIGNAL_API_URL = "https://api.onesignal.com";
/** How long a push outcome is kept in KV. */
export const PUSH_OUTCOME_TTL_MS = 7 * 24 * 3600 * 1000;
/** Notifications of one event in flight at once (one per recipient). */
const SENDS_IN_PARALLEL = 8;

/** What the push sink needs. */
export interface OneSignalOptions {
  appId: string;
  restApiKey: string;
  /** Base URL; `ONESIGNAL_API_URL` points it at a local recorder in tests. */
  apiUrl?: string;
  /** Per-request timeout; a hanging service counts as a failed attempt. */
  timeoutMs?: number;
}

/** What OneSignal answered for one recipient of one event, kept for a week. */
export interface PushOutcome {
  outcome: "sent" | "not_delivered";
  notificationId?: string;
  errors?: unknown;
  userId: string;
  at: number;
}

/** The OneSignal client, with a request timeout. */
export function createOneSignalClient(options: OneSignalOptions): DefaultApi {
  const base = (options.apiUrl ?? ONESIGNAL_API_URL).replace(/\/+$/, "");
  return new DefaultApi(createConfiguration({
    restApiKey: options.restApiKey,
    baseServer: new ServerConfiguration(base, {}),
    httpApi: wrapHttpLibrary(fetchWithTimeout(options.timeoutMs ?? 10_000)),
  }));
}

/**
 * The push sink. A 200 without an `id`, or with `errors`, is recorded as not
 * delivered and counted, never retried; network errors, timeouts, 429 and 5xx
 * are retried by the watcher; a 400 will never pass and goes to the dead letters.
 */
export function createPushSink(
  kv: Deno.Kv,
  client: DefaultApi,
  options: { appId: string; metrics?: OutboxMetrics },
): OutboxSink<PushEvent> {
  async function send(eventId: string, body: NotificationBody, target: PushTarget): Promise<void> {
    let response;
    try {
      response = await client.createNotification(Object.assign(new Notification(), body));
    } catch (err) {
      throw classify(err);
    }
    const errors = response.errors;
    const hasErrors = errors !== undefined && errors !== null &&
      !(Array.isArray(errors) && errors.length === 0) &&
      !(typeof errors === "object" && Object.keys(errors).length === 0);
    const sent = Boolean(response.id) && !hasErrors;
    options.metrics?.pushOutcome(sent ? "sent" : "not_delivered");
    if (!sent) console.warn(`push: ${eventId} not delivered to ${target.userId}:`, errors);
    const outcome: PushOutcome = {
      outcome: sent ? "sent" : "not_delivered",
      ...(response.id ? { notificationId: response.id } : {}),
      ...(hasErrors ? { errors } : {}),
      userId: target.userId,
      at: Date.now(),
    };
    // Recorded once (a redelivery that finds the record writes nothing), with its counters.
    const key = keys.pushOutcome(eventId, target.userId);
    await kv.atomic().check({ key, versionstamp: null })
      .set(key, outcome, { expireIn: PUSH_OUTCOME_TTL_MS })
      .mutate(...pushCounters(sent ? "delivered" : "notDelivered", outcome.at))
      .commit().catch(() => {}); // the outcome is a record for operators, not worth a retried push
  }

  /**
   * Sends one notification per target, a few at a time. A recipient whose
   * outcome an earlier attempt recorded is not called again (their key would
   * make OneSignal ignore the repeat anyway); the first failure fails the event.
   */
  async function sendAll(
    eventId: string,
    targets: PushTarget[],
    body: (target: PushTarget) => NotificationBody,
  ): Promise<void> {
    const done = await getManyChunked<PushOutcome>(
      kv,
      targets.map((t) => keys.pushOutcome(eventId, t.userId)),
    );
    const queue = targets.filter((_, i) => done[i]!.value === null);
    const worker = async () => {
      for (let target = queue.shift(); target; target = queue.shift()) {
        await send(eventId, body(target), target);
      }
    };
    const workers = Array.from({ length: Math.min(SENDS_IN_PARALLEL, queue.length) }, worker);
    const failed = (await Promise.allSettled(workers)).find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  async function deliverEvent(event: PushEvent): Promise<void> {
    switch (event.type) {
      case "push.message": {
        const preferences = await getManyPreferences(kv, event.recipients);
        const { targets, skipped } = pushTargets(event, preferences);
        if (skipped.length > 0) options.metrics?.pushOutcome("skipped", skipped.length);
        return await sendAll(
          pushEventId(event),
          targets,
          (target) => buildNotification(options.appId, event, target),
        );
      }
      case "push.notification": {
        const preferences = await getManyPreferences(kv, [event.userId]);
        const target = notificationTarget(event, preferences.get(event.userId));
        if (!target) return options.metrics?.pushOutcome("skipped");
        return await sendAll(
          event.eventId,
          [target],
          (target) => buildNotificationPush(options.appId, event, target),
        );
      }
      default:
        return unknownPush(event);
    }
  }

  return {
    async deliver(batches: OutboxBatch<PushEvent>[]) {
      for (const [i, batch] of batches.entries()) {
        try {
          for (const event of batch.events) await deliverEvent(event);
        } catch (error) {
          return { delivered: i, error };
        }
      }
      return { delivered: batches.length };
    },
  };
}

function fetchWithTimeout(timeoutMs: number): PromiseHttpLibrary {
  return {
    async send(request: RequestContext): Promise<ResponseContext> {
      const response = await fetch(request.getUrl(), {
        method: request.getHttpMethod().toString(),
        body: request.getBody() as BodyInit | undefined,
        headers: request.getHeaders(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => headers[name] = value);
      const text = await response.text();
      return new ResponseContext(response.status, headers, {
        text: () => Promise.resolve(text),
        binary: () => Promise.resolve(new TextEncoder().encode(text) as unknown as Buffer),
      });
    },
  };
}

function classify(err: unknown): unknown {
  const status = (err as { code?: unknown }).code;
  if (typeof status === "number" && isPermanentStatus(status)) {
    const body = JSON.stringify((err as { body?: unknown }).body ?? "").slice(0, 200);
    return new PermanentDeliveryError(`OneSignal refused the notification: HTTP ${status} ${body}`, {
      cause: err,
    });
  }
  return err;
}

/** Adding a push event type without handling it here fails type checking. */
function unknownPush(event: never): void {
  console.warn(`push: no mapping for event type ${(event as { type?: string }).type}`);
}
