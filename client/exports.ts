/** @module The SDK's public types and errors, re-exported by each platform's entry point. */
export type {
  ChatClient,
  ChatClientOptions,
  EventHandler,
  MessagesPage,
  OnEventOptions,
  OnMessageOptions,
  SendInput,
} from "./chat_client.ts";
export type {
  Message,
  Notification,
  OperationId,
  Participant,
  PathParams,
  QueryParams,
  RealtimeConfig,
  RequestBody,
  Result,
  Room,
} from "./routes.ts";
export type { components, operations, paths } from "./api_types.ts";
export { ChatApiError, ChatClosedError, ChatNetworkError } from "./errors.ts";
export { uploadAttachment, type UploadInput, type UploadTarget } from "./uploads.ts";
export type { PusherChannel, PusherClient, PusherConstructor, RetryPolicy, TokenSource } from "./types.ts";
