/**
 * @module The embedded gateways of one host that share a KV store: each one
 * registers the loopback address of its peer listener with a heartbeat, and
 * reads the others' (a cached list, never older than `PEER_REFRESH_MS`).
 */
import { keys } from "../storage/keys.ts";

/** One registered gateway: where its peer listener is, on which host, and when it last beat. */
export interface GatewayPeer {
  id: string;
  /** Base URL of its peer listener, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** `Deno.hostname()` of its machine: loopback addresses mean nothing elsewhere. */
  host: string;
  beatAt: number;
}

/** A gateway renews its registration this often. */
export const PEER_BEAT_MS = 2000;
/** A registration not renewed for this long is a gateway that died or stalled: nobody publishes to it. */
export const PEER_TTL_MS = 10_000;
/**
 * How old the list of peers may be when a publish reads it. A gateway accepts
 * WebSockets only this long (and a margin) after it registered, so that every
 * publish made after one of its clients subscribed includes it.
 */
export const PEER_REFRESH_MS = 250;

/** The registration of this gateway and the cached list of the others. */
export class GatewayPeers {
  readonly #kv: Deno.Kv;
  readonly #now: () => number;
  readonly #host: string;
  readonly id = crypto.randomUUID();
  #url: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #cached: GatewayPeer[] = [];
  #fetchedAt = -Infinity;
  #refreshing: Promise<GatewayPeer[]> | null = null;
  /** Peers found unreachable (their process is gone), with the beat they were seen with. */
  readonly #gone = new Map<string, number>();

  constructor(kv: Deno.Kv, options: { now?: () => number; host?: string } = {}) {
    this.#kv = kv;
    this.#now = options.now ?? Date.now;
    this.#host = options.host ?? Deno.hostname();
  }

  /** Registers this gateway's peer listener at `url` and keeps renewing it; resolves once written. */
  async register(url: string): Promise<void> {
    this.#url = url;
    await this.#beat();
    this.#timer ??= setInterval(() => this.#beat(), PEER_BEAT_MS);
  }

  /** Stops renewing and removes the registration (a clean stop: nobody publishes here any more). */
  async retire(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#url === undefined) return;
    this.#url = undefined;
    await this.#kv.atomic().delete(keys.gatewayPeer(this.id)).commit().catch(() => {});
  }

  /** The other live gateways of this host, read from KV at most `PEER_REFRESH_MS` ago. */
  async others(): Promise<GatewayPeer[]> {
    if (this.#now() - this.#fetchedAt < PEER_REFRESH_MS) return this.#cached;
    this.#refreshing ??= this.#read().finally(() => this.#refreshing = null);
    return await this.#refreshing;
  }

  /** Leaves a peer out until it beats again: its listener refused the connection, so its process is gone. */
  markGone(peer: GatewayPeer): void {
    this.#gone.set(peer.id, peer.beatAt);
    this.#cached = this.#cached.filter((p) => p.id !== peer.id);
  }

  async #read(): Promise<GatewayPeer[]> {
    const startedAt = this.#now();
    const live: GatewayPeer[] = [];
    const seen = new Set<string>();
    for await (const entry of this.#kv.list<GatewayPeer>({ prefix: keys.gatewayPeers() })) {
      const peer = entry.value;
      seen.add(peer.id);
      if (peer.id === this.id || peer.host !== this.#host) continue;
      if (startedAt - peer.beatAt > PEER_TTL_MS) continue;
      if (this.#gone.get(peer.id) === peer.beatAt) continue;
      live.push(peer);
    }
    for (const id of this.#gone.keys()) if (!seen.has(id)) this.#gone.delete(id);
    this.#cached = live;
    this.#fetchedAt = startedAt;
    return live;
  }

  async #beat(): Promise<void> {
    if (this.#url === undefined) return;
    const peer: GatewayPeer = { id: this.id, url: this.#url, host: this.#host, beatAt: this.#now() };
    // An atomic commit, so that openKv()'s store retries it while another process holds the write lock.
    await this.#kv.atomic().set(keys.gatewayPeer(this.id), peer, { expireIn: PEER_TTL_MS * 3 }).commit()
      .catch((err) => console.error("realtime: renewing the gateway's peer registration failed", err));
  }
}
