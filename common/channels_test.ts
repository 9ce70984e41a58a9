import assert from "node:assert/strict";
import fc from "fast-check";
import { parseChannel, presenceRoomChannel, roomChannel, userChannel } from "./channels.js";

Deno.test("channel names parse back to what built them, and nothing else parses", () => {
  assert.deepEqual(parseChannel(userChannel("alice")), { kind: "user", userId: "alice" });
  assert.deepEqual(parseChannel(roomChannel("g_1")), { kind: "room", roomId: "g_1" });
  assert.deepEqual(parseChannel(presenceRoomChannel("dm_x=")), { kind: "presence", roomId: "dm_x=" });
  for (
    const other of [
      "public",
      "private-room-",
      "private-room-a/b",
      "private-encrypted-room-x",
      "presence-user-a",
    ]
  ) {
    assert.equal(parseChannel(other), null, other);
  }
  const id = fc.stringMatching(/^[A-Za-z0-9_\-=@,.;]{1,128}$/);
  fc.assert(fc.property(id, (value) => {
    assert.deepEqual(parseChannel(roomChannel(value)), { kind: "room", roomId: value });
    assert.deepEqual(parseChannel(userChannel(value)), { kind: "user", userId: value });
  }));
});
