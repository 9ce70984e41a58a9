import assert from "node:assert/strict";
import { PermanentDeliveryError } from "../outbox/sink.ts";
import { createGateway } from "./gateway.ts";
import { gatewayPublisher } from "./publisher.ts";
import type { PusherEvent } from "./pusher_events.ts";

const event = (n: number, channel = "private-room-r"): PusherEvent => ({
  channel,
  name: "new-message",
  data: JSON.stringify({ n }),
});

Deno.test("gatewayPublisher() publishes to the gateway ten events per call, in order", async () => {
  const calls: PusherEvent[][] = [];
  const publisher = gatewayPublisher({ publish: (events) => void calls.push(events), revokeUser: () => 0 });
  const events = Array.from({ length: 25 }, (_, i) => event(i));
  await publisher.publish(events);
  assert.deepEqual(calls.map((c) => c.length), [10, 10, 5]);
  assert.deepEqual(calls.flat(), events);
});

Deno.test("gatewayPublisher() reports an event the gateway refuses as permanent, after the calls before it", async () => {
  const gateway = createGateway({ appId: "1", key: "k", secret: "s" });
  try {
    const publisher = gatewayPublisher(gateway);
    await publisher.publish([event(1)]);
    const bad = [...Array.from({ length: 10 }, (_, i) => event(i)), event(10, "not a channel")];
    await assert.rejects(publisher.publish(bad), PermanentDeliveryError);
    const tooBig = { ...event(1), data: "x".repeat(10 * 1024 + 1) };
    await assert.rejects(publisher.publish([tooBig]), PermanentDeliveryError);
  } finally {
    await gateway.close();
  }
});

Deno.test("gatewayPublisher() revokes a user's channels at once", async () => {
  const revoked: [string, string[]][] = [];
  const publisher = gatewayPublisher({
    publish: () => {},
    revokeUser: (userId, channels) => revoked.push([userId, channels]),
  });
  await publisher.revoke({ userId: "bob", channels: ["private-room-r", "presence-room-r"] });
  assert.deepEqual(revoked, [["bob", ["private-room-r", "presence-room-r"]]]);
});

Deno.test("gatewayPublisher() lets other tasks run during a long backlog", async () => {
  const busy = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) { /* a slow fan-out */ }
  };
  const publisher = gatewayPublisher({ publish: () => busy(1), revokeUser: () => 0 });
  let ranAt = -1;
  let calls = 0;
  setTimeout(() => ranAt = calls, 0);
  for (; calls < 50; calls++) await publisher.publish([event(calls)]);
  assert.ok(ranAt >= 0 && ranAt < 20, `a timer due at once ran after ${ranAt} of 50 calls`);
});

Deno.test("gatewayPublisher() revokes right after the events before it: nothing else runs in between", async () => {
  const busy = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) { /* a slow fan-out */ }
  };
  const order: string[] = [];
  const publisher = gatewayPublisher({
    publish: () => {
      busy(6);
      order.push("published");
    },
    revokeUser: () => order.push("revoked"),
  });
  for (let i = 0; i < 3; i++) await publisher.publish([event(i)]); // a burst past one slice
  // A client's frame (a subscribe with a signature from before the removal) waits as a task like this one.
  setTimeout(() => order.push("another task"), 0);
  await publisher.revoke({ userId: "bob", channels: ["private-room-r"] });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(order.slice(-2), ["revoked", "another task"]);
});
