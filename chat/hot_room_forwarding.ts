/**
 * @module Hot rooms across processes on one KV file: a process whose batches
 * of a room lose their check to another process's commits sends that room's
 * sends to one process, the room's owner by rendezvous hashing over the live
 * gateways of the host, for a while. Its batches then fold the room's sends
 * together instead of redoing each other's work. Correctness still comes from
 * the room head's check: any process may still commit any room.
 */
import { RoomActors, type RoomActorsOptions } from "../actors/room_actor.ts";
import type { ResultOf, RoomCommand } from "../actors/commands/registry.ts";
import type { SendCommand, SendResult } from "../actors/commands/send.ts";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { HttpError } from "../http_error.ts";
import type { GatewayPeer, GatewayPeers } from "../realtime/gateway_peers.ts";
import { PeerGoneError, type PeerRelay } from "../realtime/peer_relay.ts";

/** How long a room stays hot after this process lost a check on it. */
export const HOT_MS = 10_000;
/** The peer listener path that runs a forwarded send. */
export const ROOM_SEND_PATH = "/peer/room-send";
/** A forwarded send that gets no answer in this time is answered 503 (the client retries it). */
const FORWARD_TIMEOUT_MS = 10_000;

/** A forwarded send: the room and the command as the edge built it. */
interface ForwardedSend {
  roomId: string;
  cmd: SendCommand;
}

/** The owner's answer: the result (reactions as entries), or the HttpError it refused with. */
type ForwardAnswer =
  | { ok: true; result: Omit<SendResult, "message"> & { message: WireMessage } }
  | { ok: false; status: number; error: string; headers?: Record<string, string> };

type WireMessage = Omit<SendResult["message"], "reactions"> & { reactions: [string, string[]][] };

/** Room actors that send a hot room's sends to its owner process. */
export class ForwardingRoomActors extends RoomActors {
  readonly #hotUntil = new Map<string, number>();
  #relay: PeerRelay | undefined;
  #peers: GatewayPeers | undefined;

  constructor(kv: Deno.Kv, options: RoomActorsOptions) {
    super(kv, {
      ...options,
      onConflict: (roomId) => {
        this.markHot(roomId);
        options.onConflict?.(roomId);
      },
    });
  }

  /** Sends forwarded to another process, and forwarded sends run here (tests, metrics). */
  readonly forwarded = { out: 0, in: 0 };

  /** Forwards the room's sends to its owner for `HOT_MS` (a batch of it lost its check). */
  markHot(roomId: string): void {
    this.#hotUntil.set(roomId, Date.now() + HOT_MS);
  }

  /** Turns forwarding on over `relay` (the peers' listeners) and `peers` (who is live). */
  connect(relay: PeerRelay, peers: GatewayPeers): void {
    this.#relay = relay;
    this.#peers = peers;
  }

  /** The peer listener's routes: a forwarded send runs here, in this process's mailbox. */
  routes(): Record<string, (body: unknown) => Promise<unknown>> {
    return { [ROOM_SEND_PATH]: (body) => this.#runForwarded(body as ForwardedSend) };
  }

  override dispatch<C extends RoomCommand>(roomId: string, cmd: C): Promise<ResultOf<C>> {
    if (cmd.kind !== "send" || !this.#isHot(roomId) || !this.#relay) return super.dispatch(roomId, cmd);
    return this.#forward(roomId, cmd as SendCommand) as Promise<ResultOf<C>>;
  }

  #isHot(roomId: string): boolean {
    const until = this.#hotUntil.get(roomId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#hotUntil.delete(roomId);
    return false;
  }

  async #forward(roomId: string, cmd: SendCommand): Promise<SendResult> {
    const owner = await this.#ownerOf(roomId);
    if (owner === null) return await super.dispatch(roomId, cmd);
    let answer: ForwardAnswer;
    this.forwarded.out++;
    try {
      answer = await this.#relay!.call(
        owner,
        ROOM_SEND_PATH,
        { roomId, cmd },
        FORWARD_TIMEOUT_MS,
      ) as ForwardAnswer;
    } catch (err) {
      // Nothing was sent: the owner is gone, so the send runs here. Else it may have run there.
      if (err instanceof PeerGoneError) {
        this.#peers!.markGone(owner);
        return await super.dispatch(roomId, cmd);
      }
      throw new HttpError(503, "Room is busy, retry the request", undefined, { cause: err });
    }
    if (!answer.ok) {
      throw new HttpError(answer.status as ContentfulStatusCode, answer.error, answer.headers);
    }
    const { message, ...rest } = answer.result;
    return { ...rest, message: { ...message, reactions: new Map(message.reactions) } };
  }

  /** The owner of a room among this process and its live peers, or null when it is this process. */
  async #ownerOf(roomId: string): Promise<GatewayPeer | null> {
    const others = await this.#peers!.others();
    let best: GatewayPeer | null = null;
    let bestScore = score(roomId, this.#peers!.id);
    for (const peer of others) {
      const s = score(roomId, peer.id);
      if (s > bestScore) [best, bestScore] = [peer, s];
    }
    return best;
  }

  async #runForwarded(body: ForwardedSend): Promise<ForwardAnswer> {
    try {
      // Runs here whatever this process thinks of the room: forwarding happens at most once.
      this.forwarded.in++;
      const result = await super.dispatch(body.roomId, body.cmd);
      return {
        ok: true,
        result: { ...result, message: { ...result.message, reactions: [...result.message.reactions] } },
      };
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return {
        ok: false,
        status: err.status,
        error: err.message,
        ...(err.headers ? { headers: err.headers } : {}),
      };
    }
  }
}

/** Rendezvous hashing: the peer with the highest score for a room owns it (FNV-1a, 32 bits). */
function score(roomId: string, peerId: string): number {
  let hash = 0x811c9dc5;
  const text = `${roomId}\u0000${peerId}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
