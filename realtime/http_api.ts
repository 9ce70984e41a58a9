/**
 * @module The Pusher HTTP events API (`POST /apps/{id}/events` and `/batch_events`, and
 * `/users/{userId}/terminate_connections`): request authentication, body validation with
 * Pusher's limits, and the response shapes.
 */

import {
  channelKind,
  exceedsMessageLimit,
  isValidChannelName,
  isValidSocketId,
  MAX_EVENT_NAME_LENGTH,
  MAX_MESSAGE_BYTES,
} from "./protocol.ts";
import { type AppCredentials, verifyApiRequest } from "./signature.ts";

/** Most channels one event may name. */
export const MAX_CHANNELS_PER_EVENT = 100;
/** Most events in one batch. */
export const MAX_BATCH_SIZE = 10;
/** Largest request body read, in bytes (10 events of 10 KB plus names fit easily). */
export const MAX_BODY_BYTES = 256 * 1024;

/** One event for one channel, as the gateway publishes it. */
export interface PublishEvent {
  channel: string;
  name: string;
  /** The event data, already a string (usually JSON), relayed as is. */
  data: string;
  /** A socket that must not receive the event. */
  socketId?: string;
}

/** The attributes an `info` parameter may ask for. */
export type InfoAttribute = "subscription_count" | "user_count";

/** A validated request: the events (one per channel) and the info asked for each. */
export interface TriggerRequest {
  events: PublishEvent[];
  /** Events API: one list for all channels. Batch: one list per event (same order). */
  info: InfoAttribute[][];
}

/** The counts the gateway reports for `info`. */
export interface ChannelCounts {
  subscriptionCount: number;
  userCount: number;
}

/** What the HTTP API handler needs from the gateway. */
export interface HttpApiOptions extends AppCredentials {
  appId: string;
  publish(events: PublishEvent[]): void;
  /** `POST /apps/{id}/users/{userId}/terminate_connections`: closes the user's connections. */
  terminateUser(userId: string): void;
  channelCounts(channel: string): ChannelCounts;
}

/** A rejected request or event, with the HTTP status Pusher answers. */
export class PusherApiError extends Error {
  /** Creates an error answered as `status` with `{error: message}`. */
  constructor(readonly status: 400 | 401 | 404 | 405 | 413, message: string) {
    super(message);
    this.name = "PusherApiError";
  }
}

const API_PATH = /\/apps\/([^/]+)\/(events|batch_events|users\/([^/]+)\/terminate_connections)$/;

/**
 * Answers one HTTP API request: 200 `{}` (or the requested info), else `{error}` with
 * 400, 401, 404, 405 or 413 as Pusher does.
 */
export async function handleHttpApiRequest(
  req: Request,
  options: HttpApiOptions,
): Promise<Response> {
  try {
    return Response.json(await trigger(req, options));
  } catch (error) {
    if (error instanceof PusherApiError) {
      return Response.json({ error: error.message }, { status: error.status });
    }
    throw error;
  }
}

async function trigger(
  req: Request,
  options: HttpApiOptions,
): Promise<unknown> {
  const url = new URL(req.url);
  const match = API_PATH.exec(url.pathname);
  if (match === null) throw new PusherApiError(404, "Not found");
  if (decodeURIComponent(match[1]!) !== options.appId) {
    throw new PusherApiError(404, `Unknown app ${match[1]}`);
  }
  if (req.method !== "POST") {
    throw new PusherApiError(405, "Method not allowed, use POST");
  }
  const body = await readBody(req);
  const auth = verifyApiRequest(options, {
    method: req.method,
    path: url.pathname,
    query: url.searchParams,
    body,
  });
  if (!auth.ok) throw new PusherApiError(401, auth.error);
  if (match[3] !== undefined) {
    options.terminateUser(decodeURIComponent(match[3]));
    return {};
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new PusherApiError(400, "Request body is not valid JSON");
  }
  const isBatch = match[2] === "batch_events";
  const request = isBatch ? parseBatchBody(json) : parseEventsBody(json);
  options.publish(request.events);
  return isBatch ? batchResponse(request, options) : eventsResponse(request, options);
}

/**
 * Reads the body as UTF-8, at most {@linkcode MAX_BODY_BYTES}: a larger declared length is
 * refused unread, and a chunked body is cancelled as soon as it passes the limit, so nothing
 * unverified is ever buffered beyond it.
 */
async function readBody(req: Request): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) {
    throw new PusherApiError(413, "Request body too large");
  }
  if (req.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new PusherApiError(413, "Request body too large");
    }
    chunks.push(read.value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Validates an events API body `{name, data, channels | channel, socket_id?, info?}`.
 *
 * @throws {PusherApiError} 400 for a bad shape or name, 413 for data over 10 KB
 */
export function parseEventsBody(body: unknown): TriggerRequest {
  const fields = record(body, "Request body");
  let channels: unknown[];
  if (Array.isArray(fields.channels)) channels = fields.channels;
  else if (fields.channel !== undefined) channels = [fields.channel];
  else throw new PusherApiError(400, "Missing channels or channel");
  if (channels.length === 0) {
    throw new PusherApiError(400, "channels must not be empty");
  }
  if (channels.length > MAX_CHANNELS_PER_EVENT) {
    throw new PusherApiError(
      400,
      `Cannot trigger on more than ${MAX_CHANNELS_PER_EVENT} channels`,
    );
  }
  const events = [...new Set(channels)].map((channel) =>
    checkPublishEvent({
      channel: channel as string,
      name: fields.name as string,
      data: fields.data as string,
      socketId: optionalString(fields.socket_id),
    })
  );
  return { events, info: [parseInfo(fields.info)] };
}

/**
 * Validates a batch body `{batch: [{name, data, channel, socket_id?, info?}…]}` (≤ 10 events).
 *
 * @throws {PusherApiError} 400 for a bad shape or more than 10 events, 413 for data over 10 KB
 */
export function parseBatchBody(body: unknown): TriggerRequest {
  const batch = record(body, "Request body").batch;
  if (!Array.isArray(batch)) {
    throw new PusherApiError(400, "Missing batch array");
  }
  if (batch.length > MAX_BATCH_SIZE) {
    throw new PusherApiError(
      400,
      `Cannot batch more than ${MAX_BATCH_SIZE} events`,
    );
  }
  const events: PublishEvent[] = [];
  const info: InfoAttribute[][] = [];
  for (const item of batch) {
    const fields = record(item, "Batch event");
    events.push(checkPublishEvent({
      channel: fields.channel as string,
      name: fields.name as string,
      data: fields.data as string,
      socketId: optionalString(fields.socket_id),
    }));
    info.push(parseInfo(fields.info));
  }
  return { events, info };
}

/**
 * Checks one event against Pusher's rules, whatever the static types claim, and returns it.
 *
 * @throws {PusherApiError} 400 for a bad channel, name or socket id, 413 for data over 10 KB
 */
export function checkPublishEvent(event: PublishEvent): PublishEvent {
  if (!isValidChannelName(event.channel)) {
    throw new PusherApiError(
      400,
      `Invalid channel name ${JSON.stringify(event.channel)}`,
    );
  }
  if (typeof event.name !== "string" || event.name === "") {
    throw new PusherApiError(400, "Event name must be a non-empty string");
  }
  if (event.name.length > MAX_EVENT_NAME_LENGTH) {
    throw new PusherApiError(
      400,
      `Event name longer than ${MAX_EVENT_NAME_LENGTH} characters`,
    );
  }
  if (typeof event.data !== "string") {
    throw new PusherApiError(400, "Event data must be a string");
  }
  if (exceedsMessageLimit(event.data)) {
    throw new PusherApiError(
      413,
      `Event data exceeds ${MAX_MESSAGE_BYTES} bytes`,
    );
  }
  if (event.socketId !== undefined && !isValidSocketId(event.socketId)) {
    throw new PusherApiError(
      400,
      `Invalid socket_id ${JSON.stringify(event.socketId)}`,
    );
  }
  return event;
}

function parseInfo(info: unknown): InfoAttribute[] {
  if (info === undefined || info === null || info === "") return [];
  if (typeof info !== "string") {
    throw new PusherApiError(400, "info must be a string");
  }
  return info.split(",").map((attribute) => {
    const name = attribute.trim();
    if (name !== "subscription_count" && name !== "user_count") {
      throw new PusherApiError(
        400,
        `Unsupported info attribute ${JSON.stringify(name)}`,
      );
    }
    return name;
  });
}

function channelInfo(
  channel: string,
  attributes: InfoAttribute[],
  options: HttpApiOptions,
): Record<string, number> {
  const counts = options.channelCounts(channel);
  const info: Record<string, number> = {};
  if (attributes.includes("subscription_count")) {
    info.subscription_count = counts.subscriptionCount;
  }
  // user_count only exists on presence channels.
  if (
    attributes.includes("user_count") && channelKind(channel) === "presence"
  ) {
    info.user_count = counts.userCount;
  }
  return info;
}

function eventsResponse(
  request: TriggerRequest,
  options: HttpApiOptions,
): unknown {
  const attributes = request.info[0] ?? [];
  if (attributes.length === 0) return {};
  const channels: Record<string, Record<string, number>> = {};
  for (const { channel } of request.events) {
    channels[channel] = channelInfo(channel, attributes, options);
  }
  return { channels };
}

function batchResponse(
  request: TriggerRequest,
  options: HttpApiOptions,
): unknown {
  if (request.info.every((attributes) => attributes.length === 0)) return {};
  return {
    batch: request.events.map((event, i) => channelInfo(event.channel, request.info[i]!, options)),
  };
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PusherApiError(400, `${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function optionalString(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : value as string;
}
