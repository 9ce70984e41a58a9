/**
 * @module The durable-chat client SDK for Node 20 (no global WebSocket there): the same API as
 * `mod.ts`, on pusher-js's Node build. Its bundle is `client/dist/chat.node.js`.
 */
// pusher-js's main entry is its Node build (WebSocket over node:net).
// @ts-types="./pusher_js.d.ts"
import Pusher from "pusher-js";
import { type ChatClient, type ChatClientOptions, createClient } from "./chat_client.ts";

/** Creates a client of one server as one user; realtime connects on the first `onMessage`. */
export function createChatClient(options: ChatClientOptions): ChatClient {
  return createClient({ Pusher, ...options });
}

export * from "./exports.ts";
