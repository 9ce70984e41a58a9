/**
 * @module The type the SDK gives pusher-js's builds: only what `realtime.ts` uses, so that the
 * SDK's declarations do not pull in pusher-js's own (which need the DOM library).
 */
import type { PusherConstructor } from "./types.ts";

declare const Pusher: PusherConstructor;
export default Pusher;
