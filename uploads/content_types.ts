/**
 * @module Which content types an upload may declare, which are shown inline
 * (images, audio, video) and the magic bytes every image must start with. Pure.
 */

/** Images whose first bytes are checked, and whose pixel size is read. */
const IMAGE_SIGNATURES: Record<string, (head: Uint8Array) => boolean> = {
  "image/png": (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  "image/jpeg": (b) => startsWith(b, [0xff, 0xd8, 0xff]),
  "image/gif": (b) => startsWith(b, [0x47, 0x49, 0x46, 0x38]) && (b[4] === 0x37 || b[4] === 0x39),
  "image/webp": (b) => startsWith(b, [0x52, 0x49, 0x46, 0x46]) && ascii(b, 8, 4) === "WEBP",
};

/** Everything else an upload may be: audio, video, documents, archives, text. */
const OTHER_TYPES = new Set([
  "audio/mpeg",
  "audio/mp4",
  "audio/aac",
  "audio/ogg",
  "audio/wav",
  "audio/webm",
  "audio/flac",
  "video/mp4",
  "video/webm",
  "video/quicktime",
  "video/ogg",
  "application/pdf",
  "application/zip",
  "application/gzip",
  "application/x-tar",
  "application/x-7z-compressed",
  "application/json",
  "application/xml",
  "application/rtf",
  "application/msword",
  "application/vnd.ms-excel",
  "application/vnd.ms-powerpoint",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "application/vnd.oasis.opendocument.text",
  "application/vnd.oasis.opendocument.spreadsheet",
  "application/octet-stream",
  "text/plain",
  "text/csv",
  "text/markdown",
  "text/html",
  "text/calendar",
  "text/vcard",
]);

/** How many leading bytes `matchesSignature` looks at. */
export const SIGNATURE_BYTES = 12;

/** The content types an upload may declare, lower case. */
export const UPLOAD_CONTENT_TYPES: readonly string[] = [...Object.keys(IMAGE_SIGNATURES), ...OTHER_TYPES];

/**
 * The declared content type in its canonical form (lower case, no parameters),
 * or null when uploads of that type are not accepted.
 *
 * @example normalizeContentType("Image/PNG") // "image/png"
 */
export function normalizeContentType(declared: string): string | null {
  const type = declared.split(";")[0]!.trim().toLowerCase();
  return type in IMAGE_SIGNATURES || OTHER_TYPES.has(type) ? type : null;
}

/** Whether the type is an image whose magic bytes and pixel size the server checks. */
export function isCheckedImage(contentType: string): boolean {
  return contentType in IMAGE_SIGNATURES;
}

/** Whether a browser may show it in place: images, audio and video; anything else is a download. */
export function isInline(contentType: string): boolean {
  return /^(image|audio|video)\//.test(contentType);
}

/**
 * Whether the first bytes are plausible for the declared type: checked images
 * must start with their format's signature, other types are taken as declared.
 */
export function matchesSignature(contentType: string, head: Uint8Array): boolean {
  const check = IMAGE_SIGNATURES[contentType];
  return check === undefined || check(head);
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}
