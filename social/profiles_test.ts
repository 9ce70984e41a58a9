import assert from "node:assert/strict";
import { userView } from "./profiles.ts";

const USER = { id: "bob", name: "Bob", avatar: null, createdAt: 1, updatedAt: 1 };
const FACTS = {
  followers: 2,
  following: 1,
  isFollowing: true,
  followsYou: false,
  isBlocked: false,
  blocksViewer: false,
};

Deno.test("userView() shows a user never seen online as offline with no lastSeenAt", () => {
  assert.deepEqual(userView(USER, { ...FACTS, presence: null }), {
    id: "bob",
    name: "Bob",
    avatar: null,
    online: false,
    lastSeenAt: null,
    followers: 2,
    following: 1,
    isFollowing: true,
    followsYou: false,
    isBlocked: false,
  });
});

Deno.test("userView() gives presence times as ISO strings and drops stored extras", () => {
  const at = Date.UTC(2026, 10, 25, 9, 30);
  const presence = { online: true, lastSeenAt: at, channels: ["private-user-bob"] };
  const view = userView(USER, { ...FACTS, presence });
  assert.equal(view.online, true);
  assert.equal(view.lastSeenAt, "2026-11-25T09:30:00.000Z");
  assert.equal("channels" in view, false);
});

Deno.test("userView() hides online and lastSeenAt from a viewer the user blocked", () => {
  const presence = { online: true, lastSeenAt: Date.UTC(2026, 10, 25, 8) };
  const view = userView(USER, { ...FACTS, presence, blocksViewer: true });
  assert.equal(view.online, false);
  assert.equal(view.lastSeenAt, null);
  assert.equal(userView(USER, { ...FACTS, presence }).online, true);
});
