import assert from "node:assert/strict";
import { isInline, matchesSignature, normalizeContentType } from "./content_types.ts";
import { imageDimensions } from "./image_dimensions.ts";

Deno.test("normalizeContentType() accepts known types in any case and refuses the rest", () => {
  assert.equal(normalizeContentType("Image/PNG"), "image/png");
  assert.equal(normalizeContentType("text/plain; charset=utf-8"), "text/plain");
  assert.equal(normalizeContentType("image/svg+xml"), null);
  assert.equal(normalizeContentType("application/x-msdownload"), null);
  assert.equal(normalizeContentType(""), null);
});

Deno.test("isInline() shows images, audio and video in place; anything else is a download", () => {
  assert.ok(isInline("image/png") && isInline("audio/mpeg") && isInline("video/mp4"));
  assert.ok(!isInline("text/html") && !isInline("application/pdf"));
});

Deno.test("matchesSignature() checks the magic bytes of PNG, JPEG, GIF and WebP", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  const text = (s: string) => new TextEncoder().encode(s);
  assert.ok(matchesSignature("image/png", bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)));
  assert.ok(matchesSignature("image/jpeg", bytes(0xff, 0xd8, 0xff, 0xe0)));
  assert.ok(matchesSignature("image/gif", text("GIF89a")));
  assert.ok(matchesSignature("image/webp", text("RIFF\0\0\0\0WEBPVP8 ")));
  assert.ok(!matchesSignature("image/png", text("GIF89a")));
  assert.ok(!matchesSignature("image/webp", text("RIFF\0\0\0\0WAVEfmt ")));
  assert.ok(!matchesSignature("image/jpeg", text("<html>")));
  assert.ok(matchesSignature("text/plain", text("anything")));
});

Deno.test("imageDimensions() reads a GIF's size and gives up on bytes it cannot read", () => {
  const gif = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x40, 0x01, 0xf0, 0x00, 0, 0, 0]);
  assert.deepEqual(imageDimensions(gif), { width: 320, height: 240 });
  assert.equal(imageDimensions(new TextEncoder().encode("not an image")), undefined);
});
