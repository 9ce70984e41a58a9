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

Deno.test("imageDimensions() reads the size of a GIF, a JPEG and a WebP, and gives up on other bytes", () => {
  const gif = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x40, 0x01, 0xf0, 0x00, 0, 0, 0]);
  assert.deepEqual(imageDimensions(gif), { width: 320, height: 240 });
  // SOI, a JFIF APP0 segment, then the baseline frame header (SOF0) with height 240 and width 320.
  const app0 = [0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const sof0 = [0xff, 0xc0, 0, 17, 8, 0, 240, 1, 64, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  const jpeg = new Uint8Array([0xff, 0xd8, ...app0, ...sof0, 0xff, 0xd9]);
  assert.deepEqual(imageDimensions(jpeg), { width: 320, height: 240 });
  // RIFF…WEBP with a VP8X chunk: canvas width − 1 and height − 1 as 24-bit little-endian numbers.
  const vp8x = [0x56, 0x50, 0x38, 0x58, 10, 0, 0, 0, 0, 0, 0, 0, 0xf3, 0x01, 0, 0x2b, 0x01, 0];
  const webp = new Uint8Array([0x52, 0x49, 0x46, 0x46, 22, 0, 0, 0, 0x57, 0x45, 0x42, 0x50, ...vp8x]);
  assert.deepEqual(imageDimensions(webp), { width: 500, height: 300 });
  assert.equal(imageDimensions(new TextEncoder().encode("not an image")), undefined);
});
