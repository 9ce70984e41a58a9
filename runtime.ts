/**
 * @module Wires the parts together for one process: settings from KV, the
 * commit batcher, the room actors, the outbox watcher and its sinks, the
 * embedded gateway and the app. Used by `main.ts` and by tests.
 */
import { type CommittedBatch, RoomActors } from "./actors/room_actor.ts";
import { BackgroundIndexer } from "./search/background_indexer.ts";
import { type AppDeps, createApp } from "./app.ts";
import { renderMetrics } from "./admin/metrics.ts";
import { createVerifier, signToken } from "./auth/jwt.ts";
import type { Config } from "./config.ts";
import { OutboxMetrics } from "./outbox/metrics.ts";
import { createOneSignalClient, createPushSink } from "./outbox/onesignal.ts";
import { outboxCounts, pruneAgeBuckets } from "./outbox/operations.ts";
import type { Sink } from "./outbox/outbox.ts";
import { resolvePusherCredentials } from "./realtime/credentials.ts";
import { createPusherClient, gatewayPublisher, pusherPublisher } from "./realtime/publisher.ts";
import { createRealtimeSink } from "./realtime/realtime_sink.ts";
import { revocationOf } from "./realtime/pusher_events.ts";
import { ChannelPositions, positionedGateway } from "./realtime/channel_positions.ts";
import { earlyDelivery } from "./realtime/early_delivery.ts";
import { EventTail } from "./realtime/event_tail.ts";
import { TypingRelay } from "./realtime/typing_relay.ts";
import { applyPresenceWebhook } from "./realtime/webhooks.ts";
import type { OutboxSink } from "./outbox/sink.ts";
import { wakeQueueMessage } from "./outbox/wake.ts";
import { OutboxWatcher, type WatcherOptions } from "./outbox/watcher.ts";
import { createGateway } from "./realtime/gateway.ts";
import { GatewayPeers } from "./realtime/gateway_peers.ts";
import { createPeerRelay, type PeerRoutes } from "./realtime/peer_relay.ts";
import { ForwardingRoomActors } from "./chat/hot_room_forwarding.ts";
import type { Gateway } from "./realtime/gateway_api.ts";
import { createSocialSink } from "./social/group_added.ts";
import { gatewayRoutes } from "./realtime/routes.ts";
import { CommitBatcher } from "./storage/commit_batcher.ts";
import { isRemoteKv } from "./storage/kv.ts";
import { PresenceRenewer } from "./storage/presence.ts";
import { ensureSetting, randomSecret } from "./storage/settings.ts";
import { UserStore } from "./storage/users.ts";
import { KvUploadStore } from "./uploads/kv_store.ts";
import { S3UploadStore } from "./uploads/s3_store.ts";
import { LinkSigner } from "./uploads/signing.ts";
import { UploadSweeper } from "./uploads/sweep.ts";
import { confirmUpload, type UploadDeps } from "./uploads/upload_service.ts";

/** How often emptied outbox age buckets are pruned. */
const AGE_PRUNE_MS = 60_000;

/** A running set of services over one KV store. */
export interface Runtime {
  app: ReturnType<typeof createApp>;
  actors: RoomActors;
  batcher: CommitBatcher;
  demoMode: boolean;
  watcher: OutboxWatcher;
  /** Keeps search indexes fresh in the background. */
  indexer: BackgroundIndexer;
  metrics: OutboxMetrics;
  /** The embedded Pusher-protocol gateway; absent when publishing to Pusher. */
  gateway?: Gateway;
  /**
   * Starts forwarding: the outbox watcher (queue, boot sweep, periodic sweep).
   * `port` is where this server listens (the client config names it).
   */
  start(options: { port: number }): void;
  /** Finishes the commits in flight, stops the watcher and the gateway. Does not close KV. */
  close(): Promise<void>;
}

/** Knobs tests turn; production uses the defaults. */
export interface RuntimeOptions {
  /** Commit receipts in the room actors (see `RoomActorsOptions`); by default only on a remote store. */
  commitReceipts?: boolean;
  outbox?: Pick<WatcherOptions, "retry" | "leaseMs" | "sweepIntervalMs" | "pageSize" | "concurrency"> & {
    /** Delay of the queued wake behind the in-process nudge (the crash safety net). */
    wakeDelayMs?: number;
    /** Per-request timeout of the Pusher and OneSignal clients. */
    timeoutMs?: number;
  };
}

/** Whether other processes of this host may open the same store: a KV file (not memory, not KV Connect). */
function sharesKvFile(kvPath: string | undefined): boolean {
  return kvPath !== undefined && kvPath !== ":memory:" && !isRemoteKv(kvPath);
}

/** Builds the services for `config` over `kv`. Nothing is forwarded until `start()`. */
export async function createRuntime(
  config: Config,
  kv: Deno.Kv,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const demoMode = config.auth.kind === "demo";
  // Signs dev-login tokens (HS256 or demo mode); demo mode's is generated once and kept in KV.
  const devSecret = config.auth.kind === "hs256"
    ? config.auth.secret
    : demoMode
    ? await ensureSetting(kv, "demo_jwt_secret", () => randomSecret())
    : undefined;
  const users = new UserStore(kv);
  const outbox = options.outbox ?? {};
  const timeoutMs = outbox.timeoutMs ?? 5000;
  const metrics = new OutboxMetrics();
  const credentials = await resolvePusherCredentials(kv, config.pusherCredentials);
  let port: number | undefined;
  const embedded = config.realtime.kind === "embedded";
  // Online state reported by our own gateway expires unless renewed: a crash leaves nobody online for long.
  const presence = new PresenceRenewer(kv, config.presenceTtlSeconds * 1000);
  const gateway = embedded
    ? createGateway({
      ...credentials,
      ...config.gateway,
      onWebhook: async (events) =>
        presence.track(await applyPresenceWebhook(kv, events, { ttlMs: presence.ttlMs })),
    })
    : undefined;
  // Pusher Channels (or another Pusher-protocol server) through npm:pusher; our own gateway in process.
  const pusher = config.realtime.kind === "pusher"
    ? createPusherClient({ ...credentials, ...config.realtime, timeoutMs })
    : undefined;
  const pusherSigner = pusher ?? createPusherClient({ ...credentials, useTLS: false });
  // Where each room channel's events stand on this gateway: what went out early is not sent again.
  const positions = new ChannelPositions();
  const positioned = gateway ? positionedGateway(gateway, positions) : undefined;
  // Other processes on this KV file have gateways of their own: what this one publishes reaches them too.
  const peers = gateway && sharesKvFile(config.kvPath) ? new GatewayPeers(kv) : undefined;
  const peerRoutes: PeerRoutes = {};
  const relay = positioned && peers
    ? createPeerRelay({ gateway: positioned, peers, credentials, routes: peerRoutes })
    : undefined;
  const local = positioned ? gatewayPublisher(positioned) : pusherPublisher(pusherSigner);
  // What goes out is also kept, briefly, for the console's live tail.
  const tail = new EventTail();
  const publisher = tail.wrap(relay ? relay.publisher(local) : local);
  const signer = new LinkSigner(await ensureSetting(kv, "upload_link_secret", () => randomSecret()));
  const links = { attachmentUrl: (uploadId: string) => signer.link("get", uploadId) };
  const early = positioned ? earlyDelivery({ gateway: positioned, positions, links }) : undefined;
  const kvStore = new KvUploadStore(kv, signer);
  const s3Store = config.s3 ? new S3UploadStore(config.s3) : undefined;
  const sweeper = new UploadSweeper(kv, s3Store ? [kvStore, s3Store] : [kvStore]);
  const sinks: Partial<Record<Sink, OutboxSink>> = {
    realtime: createRealtimeSink(kv, publisher, links) as OutboxSink,
  };
  if (config.oneSignal) {
    const client = createOneSignalClient({ ...config.oneSignal, timeoutMs: Math.max(timeoutMs, 10_000) });
    sinks.push = createPushSink(kv, client, { appId: config.oneSignal.appId, metrics }) as OutboxSink;
  }
  let started = false;
  let pruning: ReturnType<typeof setInterval> | undefined;
  const batcher = new CommitBatcher(kv, {
    limits: { units: config.groupCommit ? Infinity : 1 },
    toQueueMessage: (wake) => wakeQueueMessage(wake, { delayMs: outbox.wakeDelayMs ?? 1000 }),
    onCommitted: (wake) => {
      if (started) watcher.nudge(wake);
    },
  });
  // Group adds' notifications, written from the room commit's outbox row (durable with the membership).
  sinks.social = createSocialSink({ kv, batcher, push: config.oneSignal !== undefined }) as OutboxSink;
  const watcher = new OutboxWatcher(kv, { ...outbox, sinks, batcher, metrics });
  const typing = new TypingRelay(publisher, { metrics });
  const indexer = new BackgroundIndexer(kv, batcher);
  const forwarding = relay && peers && config.hotRoomForwarding;
  const actors = new (forwarding ? ForwardingRoomActors : RoomActors)(kv, {
    batcher,
    sendLimit: config.rateLimitSendPerMin,
    writeLimit: config.rateLimitWritePerMin,
    commitReceipts: options.commitReceipts ?? isRemoteKv(config.kvPath),
    push: config.oneSignal !== undefined,
    maxBatch: config.groupCommit ? 64 : 1,
    onTyping: (event) => typing.push(event),
    // With the embedded gateways a revocation drops only the room's channels: do it at once, beside the
    // outbox (which revokes again in stream order), so nothing a removed member's open socket would get
    // meanwhile, typing included, reaches it. Pusher Channels can only end all of a user's connections:
    // done now, it would also lose them their own channel's `member-removed`, so there the outbox does it.
    // Then the commit's room-channel events reach this process's sockets at once when they may. The
    // process that committed a message change indexes it (a forwarded send's is the room owner's).
    onCommitted: (commit: CommittedBatch) => {
      indexer.committed(commit);
      if (!early) return;
      for (const event of commit.events) {
        const revocation = revocationOf(event);
        if (!revocation) continue;
        publisher.revoke(revocation).catch((err) =>
          console.warn("realtime: an immediate revocation failed; the outbox delivers it", err)
        );
      }
      metrics.earlyBatch(early(commit));
    },
  });
  if (forwarding && actors instanceof ForwardingRoomActors) {
    actors.connect(relay, peers);
    Object.assign(peerRoutes, actors.routes());
  }
  const uploadDeps: UploadDeps = {
    kv,
    actors,
    signer,
    store: s3Store ?? kvStore,
    kvStore,
    stores: { kv: kvStore, ...(s3Store ? { s3: s3Store } : {}) },
    maxBytes: config.uploadMaxBytes,
  };
  const deps: AppDeps = {
    kv,
    actors,
    users,
    indexer,
    links,
    uploads: { confirm: (uploadId, userId) => confirmUpload(uploadDeps, uploadId, userId) },
    uploadDeps,
    social: { batcher, push: config.oneSignal !== undefined },
    verify: createVerifier(config.auth, devSecret),
    signDevToken: config.devLogin && devSecret
      ? (claims, ttl) => signToken(devSecret, claims, ttl)
      : undefined,
    adminApiKey: config.adminApiKey,
    corsOrigins: config.corsOrigins,
    health: {
      mode: demoMode ? "demo" : "production",
      realtime: config.realtime.kind,
      push: config.oneSignal ? "onesignal" : "disabled",
      outboxCounts: () => outboxCounts(kv),
    },
    realtime: { kv, credentials, pusher: pusherSigner, realtime: config.realtime, serverPort: () => port },
    gatewayRoutes: gateway
      ? gatewayRoutes(gateway, credentials.key, credentials.appId, { ready: relay?.ready })
      : undefined,
    operators: { latency: () => metrics.latencyHistograms(), tail },
    renderMetrics: () => renderMetrics(kv, metrics),
  };
  return {
    app: createApp(deps),
    actors,
    batcher,
    indexer,
    demoMode,
    watcher,
    metrics,
    gateway,
    start(options) {
      port = options.port;
      started = true;
      watcher.start();
      sweeper.start();
      // Age buckets of delivered batches go back to zero; drop them so a sink's oldest stays one short list.
      pruning = setInterval(() => pruneAgeBuckets(kv).catch(() => {}), AGE_PRUNE_MS);
      if (gateway) presence.start();
      relay?.start().catch((err) =>
        console.error("realtime: the gateway's peer listener did not start", err)
      );
    },
    async close() {
      clearInterval(pruning);
      await peers?.retire(); // other processes stop relaying and forwarding here (their listener stays up)
      await gateway?.close(); // sockets first, so that the server's shutdown is not held open
      await presence.stop();
      await sweeper.stop();
      await actors.drain();
      await indexer.stop();
      await batcher.drain();
      started = false;
      await watcher.stop();
      await typing.close();
      await batcher.drain();
      await relay?.close();
    },
  };
}
