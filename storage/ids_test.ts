import assert from "node:assert/strict";
import { directRoomId, isValidId, messageId, parseMessageId } from "./ids.ts";

Deno.test("directRoomId() is the same whoever writes first, and differs per pair", () => {
  assert.equal(directRoomId("alice", "bob"), directRoomId("bob", "alice"));
  assert.notEqual(directRoomId("alice", "bob"), directRoomId("alice", "carol"));
  assert.ok(isValidId(directRoomId("a".repeat(128), "b".repeat(128))));
});

Deno.test("parseMessageId() reads back what messageId() wrote and refuses anything else", () => {
  assert.deepEqual(parseMessageId(messageId("room.1;x", 42)), { roomId: "room.1;x", seq: 42 });
  for (
    const bad of ["", "room", "room:", "room:0", "room:-1", "room:1.5", "ro om:1", ":1", "room:01", "r:1e3"]
  ) {
    assert.equal(parseMessageId(bad), null, bad);
  }
});

Deno.test("isValidId() accepts Pusher channel characters only, 1 to 128 of them", () => {
  assert.ok(isValidId("A-z_0=9@,.;"));
  assert.ok(!isValidId(""));
  assert.ok(!isValidId("a".repeat(129)));
  assert.ok(!isValidId("a:b"));
  assert.ok(!isValidId("a/b"));
});
