import assert from "node:assert/strict";
import { GET_LINK_MIN_TTL_MS, isUploadContentPath, LinkSigner, PUT_LINK_TTL_MS } from "./signing.ts";

const NOW = Date.UTC(2026, 11, 1, 22, 17, 5);

function query(link: string): { expires?: string; signature?: string } {
  return Object.fromEntries(new URL(link, "http://x").searchParams);
}

Deno.test("LinkSigner.link() signs a link that verify() accepts until it expires", () => {
  let now = NOW;
  const signer = new LinkSigner("secret", { now: () => now });
  const link = signer.link("get", "up_1");
  assert.ok(isUploadContentPath(new URL(link, "http://x").pathname));
  const expires = Number(query(link).expires) * 1000;
  assert.ok(expires - NOW >= GET_LINK_MIN_TTL_MS && expires - NOW < GET_LINK_MIN_TTL_MS + 60 * 60_000);
  assert.equal(expires % (60 * 60_000), 0, "ends on an hour boundary");
  assert.ok(signer.verify("get", "up_1", query(link)));
  now = expires - 1;
  assert.ok(signer.verify("get", "up_1", query(link)));
  now = expires;
  assert.equal(signer.verify("get", "up_1", query(link)), false);
});

Deno.test("LinkSigner.verify() refuses another upload, another action, another secret, a changed expiry", () => {
  const signer = new LinkSigner("secret", { now: () => NOW });
  const link = query(signer.link("put", "up_1"));
  assert.ok(Number(link.expires) * 1000 - NOW <= PUT_LINK_TTL_MS);
  assert.ok(signer.verify("put", "up_1", link));
  assert.equal(signer.verify("put", "up_2", link), false);
  assert.equal(signer.verify("get", "up_1", link), false);
  assert.equal(new LinkSigner("other", { now: () => NOW }).verify("put", "up_1", link), false);
  assert.equal(
    signer.verify("put", "up_1", { ...link, expires: String(Number(link.expires) + 3600) }),
    false,
  );
  assert.equal(signer.verify("put", "up_1", {}), false);
});

Deno.test("LinkSigner.link() gives one message the same link for an hour", () => {
  let now = NOW;
  const signer = new LinkSigner("secret", { now: () => now });
  const first = signer.link("get", "up_1");
  now += 60_000;
  assert.equal(signer.link("get", "up_1"), first);
});
