/**
 * @module The one-line text of a message, for the server (room-list previews,
 * push bodies) and the browser (its room list, screen-reader announcements)
 * alike, so the two never disagree.
 */

/** Room-list previews are cut to this many characters. */
export const PREVIEW_LENGTH = 100;

/**
 * The one-line text of a message: its content, or a label for an attachment
 * ("📷 caption", "📷 Photo", "📎 name").
 *
 * @param {{ type: string; content: string; attachmentName?: string | null }} message
 * @returns {string}
 * @example previewText({ type: "image", content: "" }) // "📷 Photo"
 */
export function previewText(message) {
  const content = message.content.trim();
  if (message.type === "image") return content ? `📷 ${content}` : "📷 Photo";
  if (message.type === "file") return `📎 ${message.attachmentName || content || "File"}`;
  return content;
}

/**
 * Cuts text to at most `max` characters without splitting a surrogate pair.
 *
 * @param {string} text
 * @param {number} max
 * @returns {string}
 */
export function truncate(text, max) {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join("");
}

/**
 * A message's preview as room lists show it: `previewText`, at most `PREVIEW_LENGTH` characters.
 *
 * @param {{ type: string; content: string; attachmentName?: string | null }} message
 * @returns {string}
 */
export function previewLine(message) {
  return truncate(previewText(message), PREVIEW_LENGTH);
}
