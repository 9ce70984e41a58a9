/**
 * @module The client SDK (client/) as browser modules, for the web client: each TypeScript module
 * with its types stripped (`node:module`'s `stripTypeScriptTypes`, built into Deno) and its `.ts`
 * imports pointed at the served `.js`, at `/client/*.js`. Imported as text like the web client's
 * own files, so nothing is read from disk or built at runtime beyond the stripping at boot.
 */
import { stripTypeScriptTypes } from "node:module";
import apiTs from "../client/api.ts" with { type: "text" };
import chatClientTs from "../client/chat_client.ts" with { type: "text" };
import errorsTs from "../client/errors.ts" with { type: "text" };
import httpTs from "../client/http.ts" with { type: "text" };
import messageSequencerTs from "../client/message_sequencer.ts" with { type: "text" };
import networkTs from "../client/network.ts" with { type: "text" };
import realtimeTs from "../client/realtime.ts" with { type: "text" };
import retryTs from "../client/retry.ts" with { type: "text" };
import roomFeedTs from "../client/room_feed.ts" with { type: "text" };
import routesTs from "../client/routes.ts" with { type: "text" };
import sendQueueTs from "../client/send_queue.ts" with { type: "text" };
import uploadsTs from "../client/uploads.ts" with { type: "text" };

/** The SDK's modules that `chat_client.ts` loads at run time (type-only imports vanish with the types). */
const SOURCES: Record<string, string> = {
  "api": apiTs,
  "chat_client": chatClientTs,
  "errors": errorsTs,
  "http": httpTs,
  "message_sequencer": messageSequencerTs,
  "network": networkTs,
  "realtime": realtimeTs,
  "retry": retryTs,
  "room_feed": roomFeedTs,
  "routes": routesTs,
  "send_queue": sendQueueTs,
  "uploads": uploadsTs,
};

/** `/client/{name}.js` → its JavaScript. */
export function clientModules(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(SOURCES).map(([name, source]) => [`/client/${name}.js`, browserModule(source)]),
  );
}

/** A TypeScript module as a browser module: types stripped, `./x.ts` imports as `./x.js`. */
function browserModule(source: string): string {
  return stripTypeScriptTypes(source).replace(/(from\s+"\.\/[\w-]+)\.ts"/g, '$1.js"');
}
