import assert from "node:assert/strict";
import fc from "fast-check";
import { ChannelRegistry } from "./channels.ts";

const alice = (userInfo: unknown = null) => ({ userId: "alice", userInfo });
const bob = { userId: "bob", userInfo: { name: "Bob" } };

Deno.test("ChannelRegistry.subscribe() reports occupied for the first subscriber only", () => {
  const registry = new ChannelRegistry<string>();
  assert.deepEqual(registry.subscribe("room", "s1"), {
    added: true,
    occupied: true,
    memberAdded: null,
  });
  assert.deepEqual(registry.subscribe("room", "s2"), {
    added: true,
    occupied: false,
    memberAdded: null,
  });
  assert.deepEqual([...registry.subscribers("room")!], ["s1", "s2"]);
  assert.equal(registry.channelCount, 1);
  assert.equal(registry.subscriptionCount, 2);
});

Deno.test("ChannelRegistry.subscribe() ignores a repeated subscription", () => {
  const registry = new ChannelRegistry<string>();
  registry.subscribe("room", "s1");
  assert.deepEqual(registry.subscribe("room", "s1"), {
    added: false,
    occupied: false,
    memberAdded: null,
  });
  assert.equal(registry.subscriptionCount, 1);
});

Deno.test("ChannelRegistry.unsubscribe() reports vacated when the last subscriber leaves", () => {
  const registry = new ChannelRegistry<string>();
  registry.subscribe("room", "s1");
  registry.subscribe("room", "s2");
  assert.equal(registry.unsubscribe("room", "s1").vacated, false);
  assert.deepEqual(registry.unsubscribe("room", "s2"), {
    channel: "room",
    removed: true,
    vacated: true,
    memberRemoved: null,
  });
  assert.equal(registry.subscribers("room"), undefined);
  assert.equal(registry.channelCount, 0);
});

Deno.test("ChannelRegistry.unsubscribe() changes nothing for a socket that is not subscribed", () => {
  const registry = new ChannelRegistry<string>();
  registry.subscribe("room", "s1");
  assert.deepEqual(registry.unsubscribe("room", "s2"), {
    channel: "room",
    removed: false,
    vacated: false,
    memberRemoved: null,
  });
  assert.equal(registry.unsubscribe("other", "s1").removed, false);
  assert.equal(registry.subscriptionCount, 1);
});

Deno.test("ChannelRegistry adds a presence member on the user's first socket only", () => {
  const registry = new ChannelRegistry<string>();
  assert.deepEqual(registry.subscribe("presence-a", "s1", alice({ n: 1 })).memberAdded, alice({ n: 1 }));
  assert.equal(registry.subscribe("presence-a", "s2", alice({ n: 2 })).memberAdded, null);
  assert.deepEqual(registry.subscribe("presence-a", "s3", bob).memberAdded, bob);
  assert.deepEqual(registry.presence("presence-a"), {
    ids: ["alice", "bob"],
    hash: { alice: { n: 1 }, bob: { name: "Bob" } },
    count: 2,
  });
  assert.equal(registry.userCount("presence-a"), 2);
  assert.equal(registry.subscribers("presence-a")!.size, 3);
});

Deno.test("ChannelRegistry removes a presence member when the user's last socket leaves", () => {
  const registry = new ChannelRegistry<string>();
  registry.subscribe("presence-a", "s1", alice());
  registry.subscribe("presence-a", "s2", alice());
  registry.subscribe("presence-a", "s3", bob);
  assert.equal(registry.unsubscribe("presence-a", "s1").memberRemoved, null);
  assert.equal(registry.unsubscribe("presence-a", "s2").memberRemoved, "alice");
  assert.deepEqual(registry.presence("presence-a").ids, ["bob"]);
  const last = registry.unsubscribe("presence-a", "s3");
  assert.equal(last.memberRemoved, "bob");
  assert.equal(last.vacated, true);
  assert.deepEqual(registry.presence("presence-a"), { ids: [], hash: {}, count: 0 });
});

Deno.test("ChannelRegistry.unsubscribeAll() leaves every channel of a socket", () => {
  const registry = new ChannelRegistry<string>();
  registry.subscribe("room", "s1");
  registry.subscribe("presence-a", "s1", alice());
  registry.subscribe("room", "s2");
  const results = registry.unsubscribeAll("s1");
  assert.deepEqual(results, [
    { channel: "room", removed: true, vacated: false, memberRemoved: null },
    { channel: "presence-a", removed: true, vacated: true, memberRemoved: "alice" },
  ]);
  assert.deepEqual(registry.unsubscribeAll("s1"), []);
  assert.equal(registry.subscriptionCount, 1);
});

Deno.test("ChannelRegistry.isSubscribed() and memberOf() answer per socket and channel", () => {
  const registry = new ChannelRegistry<string>();
  registry.subscribe("presence-a", "s1", alice());
  registry.subscribe("private-b", "s1");
  assert.equal(registry.isSubscribed("presence-a", "s1"), true);
  assert.equal(registry.isSubscribed("presence-a", "s2"), false);
  assert.deepEqual(registry.memberOf("presence-a", "s1"), alice());
  assert.equal(registry.memberOf("private-b", "s1"), null);
  assert.equal(registry.memberOf("presence-a", "s2"), null);
});

Deno.test("ChannelRegistry presence matches a model after any subscribe/unsubscribe sequence", () => {
  const op = fc.record({
    subscribe: fc.boolean(),
    socket: fc.constantFrom("s1", "s2", "s3", "s4"),
    channel: fc.constantFrom("presence-a", "presence-b"),
  });
  // Each socket is one fixed user: s1 and s2 are alice, s3 and s4 are bob.
  const userOf = (socket: string): string => (socket < "s3" ? "alice" : "bob");
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
    const registry = new ChannelRegistry<string>();
    const model = new Map<string, Set<string>>(); // channel -> sockets
    const online = new Map<string, number>(); // channel/user -> member events balance
    for (const { subscribe, socket, channel } of ops) {
      const sockets = model.get(channel) ?? new Set();
      model.set(channel, sockets);
      const key = channel + "/" + userOf(socket);
      if (subscribe) {
        const result = registry.subscribe(channel, socket, { userId: userOf(socket), userInfo: null });
        sockets.add(socket);
        if (result.memberAdded) online.set(key, (online.get(key) ?? 0) + 1);
      } else {
        const result = registry.unsubscribe(channel, socket);
        sockets.delete(socket);
        if (result.memberRemoved) online.set(key, (online.get(key) ?? 0) - 1);
      }
    }
    for (const [channel, sockets] of model) {
      const users = [...new Set([...sockets].map(userOf))].sort();
      assert.deepEqual([...registry.presence(channel).ids].sort(), users);
      for (const user of ["alice", "bob"]) {
        assert.equal(online.get(channel + "/" + user) ?? 0, users.includes(user) ? 1 : 0);
      }
      assert.equal(registry.subscribers(channel)?.size ?? 0, sockets.size);
    }
  }));
});

Deno.test("ChannelRegistry.channelCountOf() counts one socket's channels", () => {
  const registry = new ChannelRegistry<string>();
  assert.equal(registry.channelCountOf("s1"), 0);
  registry.subscribe("a", "s1");
  registry.subscribe("b", "s1");
  registry.subscribe("a", "s2");
  assert.equal(registry.channelCountOf("s1"), 2);
  registry.unsubscribe("a", "s1");
  assert.equal(registry.channelCountOf("s1"), 1);
});
