import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import { type GatewayPeer, GatewayPeers, PEER_TTL_MS } from "./gateway_peers.ts";
import { createPeerRelay, handlePeerRequest, PEER_PATH } from "./peer_relay.ts";
import type { Publisher } from "./publisher.ts";
import type { PusherEvent, Revocation } from "./pusher_events.ts";
import { signApiRequest } from "./signature.ts";

const CREDENTIALS = { key: "relay-key", secret: "relay-secret-0123456789" };
const EVENT: PusherEvent = { channel: "private-room-r", name: "new-message", data: '{"seq":1}' };

/** A gateway stand-in that records what reached it, in order (the real gateway is tested on its own). */
function recorder() {
  const steps: unknown[] = [];
  return {
    steps,
    publish: (events: PusherEvent[]) => void steps.push(...events.map((e) => e.name)),
    revokeUser: (userId: string) => (steps.push(`revoke ${userId}`), 1),
  };
}

function localRecorder(steps: unknown[]): Publisher {
  return {
    publish: (events: PusherEvent[]) =>
      Promise.resolve(void steps.push(...events.map((e) => `local ${e.name}`))),
    revoke: (r: Revocation) => Promise.resolve(void steps.push(`local revoke ${r.userId}`)),
  };
}

Deno.test("handlePeerRequest() refuses a request not signed with the app secret, and applies a signed one", async () => {
  const gateway = recorder();
  const body = JSON.stringify({ steps: [{ events: [EVENT] }] });
  const forged = signApiRequest({ key: CREDENTIALS.key, secret: "another-secret" }, {
    method: "POST",
    path: PEER_PATH,
    body,
  });
  const request = (query: URLSearchParams, text = body) =>
    new Request(`http://127.0.0.1${PEER_PATH}?${query}`, { method: "POST", body: text });
  const refused = await handlePeerRequest(request(forged), { gateway, credentials: CREDENTIALS });
  assert.equal(refused.status, 401);
  assert.deepEqual(gateway.steps, []);

  const bad = '{"events": "nope"}';
  const malformed = await handlePeerRequest(
    request(signApiRequest(CREDENTIALS, { method: "POST", path: PEER_PATH, body: bad }), bad),
    { gateway, credentials: CREDENTIALS },
  );
  assert.equal(malformed.status, 400);

  const signed = signApiRequest(CREDENTIALS, { method: "POST", path: PEER_PATH, body });
  const ok = await handlePeerRequest(request(signed), { gateway, credentials: CREDENTIALS });
  assert.equal(ok.status, 200);
  assert.deepEqual(gateway.steps, ["new-message"]);
});

Deno.test("a relay publishes events and revocations in order to a live peer, and skips a peer whose process is gone", async () => {
  await using kv = await Deno.openKv(":memory:");
  const peerGateway = recorder();
  const peer = createPeerRelay({
    gateway: peerGateway,
    peers: new GatewayPeers(kv),
    credentials: CREDENTIALS,
  });
  const selfPeers = new GatewayPeers(kv);
  const self = createPeerRelay({ gateway: recorder(), peers: selfPeers, credentials: CREDENTIALS });
  // A registration whose listener is gone (its port was closed): refused connections are skipped.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadUrl = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
  closed.close();
  const dead: GatewayPeer = { id: "dead", url: deadUrl, host: Deno.hostname(), beatAt: Date.now() };
  await kv.set(keys.gatewayPeer("dead"), dead);
  // A registration that stopped beating: never published to.
  const stale: GatewayPeer = {
    ...dead,
    id: "stale",
    url: "http://127.0.0.1:9",
    beatAt: Date.now() - PEER_TTL_MS - 1,
  };
  await kv.set(keys.gatewayPeer("stale"), stale);
  try {
    await peer.start();
    const localSteps: unknown[] = [];
    const publisher = self.publisher(localRecorder(localSteps));
    await publisher.publish([EVENT, { ...EVENT, name: "message-read" }]);
    await publisher.revoke({ userId: "dave", channels: ["private-room-r"] });
    await publisher.publish([{ ...EVENT, name: "after" }]);
    assert.deepEqual(localSteps, [
      "local new-message",
      "local message-read",
      "local revoke dave",
      "local after",
    ]);
    assert.deepEqual(peerGateway.steps, ["new-message", "message-read", "revoke dave", "after"]);
    assert.deepEqual((await selfPeers.others()).map((p) => p.url).includes(deadUrl), false);

    // A session (one outbox delivery) publishes locally at once and reaches the peer in one request at flush.
    peerGateway.steps.length = 0;
    const session = publisher.session!();
    await session.publish([{ ...EVENT, name: "one" }]);
    await session.revoke({ userId: "erin", channels: ["private-room-r"] });
    await session.publish([{ ...EVENT, name: "two" }]);
    assert.deepEqual(localSteps.slice(-3), ["local one", "local revoke erin", "local two"]);
    assert.deepEqual(peerGateway.steps, []);
    await session.flush();
    assert.deepEqual(peerGateway.steps, ["one", "revoke erin", "two"]);
  } finally {
    await peer.close();
    await self.close();
  }
});

Deno.test("handlePeerRequest() passes an event's position on to the gateway and refuses a malformed one", async () => {
  const positions: unknown[] = [];
  const gateway = {
    publish: (events: PusherEvent[]) => void positions.push(...events.map((e) => e.position)),
    revokeUser: () => 0,
  };
  const post = (event: unknown) => {
    const body = JSON.stringify({ steps: [{ events: [event] }] });
    const query = signApiRequest(CREDENTIALS, { method: "POST", path: PEER_PATH, body });
    const req = new Request(`http://127.0.0.1${PEER_PATH}?${query}`, { method: "POST", body });
    return handlePeerRequest(req, { gateway, credentials: CREDENTIALS });
  };
  const position = { order: 4, index: 0, last: true };
  assert.equal((await post({ ...EVENT, position })).status, 200);
  assert.equal((await post({ ...EVENT, position: { order: "4", index: 0, last: true } })).status, 400);
  assert.deepEqual(positions, [position]);
});
