/**
 * @module Whether the device is online, as far as the runtime says (`navigator.onLine` in
 * browsers; Deno and Node have no such signal and count as online), and a `wake` event when
 * the network may be back: the browser's `online` event, or the realtime connection reconnecting.
 */

interface OnlineGlobals {
  navigator?: { onLine?: boolean };
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
}

/** Dispatches `wake` when waits for the network should end early. */
export class NetworkWatch extends EventTarget {
  readonly #globals = globalThis as OnlineGlobals;
  readonly #online = () => this.wake();

  constructor() {
    super();
    this.#globals.addEventListener?.("online", this.#online);
  }

  /** True only when the runtime knows it is offline. */
  get offline(): boolean {
    return this.#globals.navigator?.onLine === false;
  }

  /** Ends every current wait for the network. */
  wake(): void {
    this.dispatchEvent(new Event("wake"));
  }

  close(): void {
    this.#globals.removeEventListener?.("online", this.#online);
  }
}
