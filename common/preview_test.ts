import assert from "node:assert/strict";
import { previewLine, previewText, truncate } from "./preview.js";

Deno.test("previewText() labels attachments, and previewLine() cuts without splitting a surrogate pair", () => {
  assert.equal(previewText({ type: "text", content: "  hi  " }), "hi");
  assert.equal(previewText({ type: "image", content: "" }), "📷 Photo");
  assert.equal(previewText({ type: "image", content: "sunset" }), "📷 sunset");
  assert.equal(previewText({ type: "file", content: "", attachmentName: "cv.pdf" }), "📎 cv.pdf");
  assert.equal(previewText({ type: "file", content: "" }), "📎 File");
  assert.equal(truncate("😀😀😀", 2), "😀😀");
  assert.equal(truncate("😀".repeat(101), 100), "😀".repeat(100));
  assert.equal(previewLine({ type: "text", content: "x".repeat(150) }).length, 100);
});
