/**
 * @module The durable-chat client SDK for browsers, Deno, web workers and other runtimes with
 * a global `WebSocket` and `fetch` (Node 20: import `client/node.ts`, or its build
 * `dist/chat.node.js`). See client/README.md.
 *
 * @example
 * ```ts
 * import { createChatClient } from "./client/mod.ts";
 * const chat = createChatClient({ baseUrl: "http://localhost:8000", token: () => getToken() });
 * await chat.send({ roomId, content: "Hi!" });
 * const stop = chat.onMessage(roomId, (m) => console.log(m.seq, m.content), { afterSeq: 0 });
 * ```
 */
// The worker build of pusher-js runs on the global WebSocket and fetch (browsers, Deno, workers).
// @ts-types="./pusher_js.d.ts"
import Pusher from "pusher-js/worker/index.js";
import { type ChatClient, type ChatClientOptions, createClient } from "./chat_client.ts";

/** Creates a client of one server as one user; realtime connects on the first `onMessage`. */
export function createChatClient(options: ChatClientOptions): ChatClient {
  return createClient({ Pusher, ...options });
}

export * from "./exports.ts";
