/**
 * @module One entry of the message list, built from state: a message (bubble, quote, attachment,
 * reactions, receipt, actions button) or a pending send ("Sending…", or "Not sent" with Retry).
 * Elements are built as nodes, never from HTML.
 */
import { previewText } from "../common/preview.js";
import { avatar, clockTime, fileSize, fullTime, h, icon, isHttpUrl } from "./view.js";

/**
 * The list item of a message.
 * @param {import("./store.js").Message} message
 * @param {{
 *   meId: string, isGroup: boolean, replied: import("./store.js").Message | undefined,
 *   onQuote(seq: number): void, onReact(message: any, emoji: string): void,
 *   onMenu(message: any, anchor: HTMLElement): void, onImageLoad(): void,
 * }} options `replied` is the quoted message when it is loaded
 */
export function messageItem(message, options) {
  const { meId, isGroup, replied } = options;
  const mine = message.senderId === meId;
  const sender = message.sender ?? { id: message.senderId, name: message.senderId, avatar: null };
  const body = h("div", { className: "bubble" });
  if (!mine && isGroup) body.append(h("span", { className: "sender" }, sender.name));
  if (message.replyToId) body.append(quote(replied, options.onQuote));
  if (message.attachmentUrl && isAttachmentUrl(message.attachmentUrl)) {
    body.append(attachment(message, options.onImageLoad));
  }
  if (message.content) body.append(h("p", { className: "text" }, linkify(message.content)));
  body.append(h(
    "span",
    { className: "meta" },
    message.isEdited ? h("span", { className: "edited", title: fullTime(message.editedAt) }, "edited") : null,
    h(
      "time",
      { dateTime: message.createdAt, title: fullTime(message.createdAt) },
      clockTime(message.createdAt),
    ),
    mine ? receipt(message) : null,
  ));
  return h(
    "li",
    {
      className: `msg${mine ? " mine" : ""}`,
      id: `msg-${message.seq}`,
      "data-seq": message.seq,
      "data-sender": message.senderId,
      "data-time": Date.parse(message.createdAt) || 0,
      "aria-label": `${mine ? "You" : sender.name}, ${fullTime(message.createdAt)}`,
    },
    mine ? null : avatar(sender, "sm"),
    h("div", { className: "msg-body" }, body, reactions(message, meId, options.onReact)),
    h(
      "button",
      {
        type: "button",
        className: "icon-btn icon-btn-small msg-actions",
        "aria-label": "Message actions",
        "aria-haspopup": "menu",
        onclick: (event) => options.onMenu(message, event.currentTarget),
      },
      icon("more"),
    ),
  );
}

/**
 * The list item of a send on its way, or of one that failed (with a Retry button).
 * @param {import("./store.js").Pending} pending
 * @param {{meId: string, onRetry(clientMessageId: string): void}} options
 */
export function pendingItem(pending, { meId, onRetry }) {
  const { body, status } = pending;
  const bubble = h("div", { className: "bubble" });
  if (body.attachmentUrl || body.uploadId) {
    bubble.append(
      h("span", { className: "attachment-file" }, icon("file"), body.attachmentName ?? "Attachment"),
    );
  }
  if (body.content) bubble.append(h("p", { className: "text" }, body.content));
  bubble.append(
    status === "failed"
      ? h(
        "span",
        { className: "meta" },
        h("span", { className: "failed-text" }, icon("alert"), "Not sent"),
        h("button", {
          type: "button",
          className: "link-btn",
          onclick: () => onRetry(pending.clientMessageId),
        }, "Retry"),
      )
      : h("span", { className: "meta" }, h("span", { className: "sending" }, icon("clock"), "Sending…")),
  );
  return h(
    "li",
    {
      className: `msg mine pending${status === "failed" ? " failed" : ""}`,
      "data-sender": meId,
      "data-time": pending.at,
    },
    h("div", { className: "msg-body" }, bubble),
  );
}

function quote(replied, onQuote) {
  return h(
    "button",
    {
      type: "button",
      className: "quote",
      onclick: () => replied && onQuote(replied.seq),
      "aria-label": replied
        ? `In reply to ${replied.sender?.name}: ${previewText(replied)}`
        : "In reply to a message",
    },
    h("span", { className: "quote-name" }, replied ? replied.sender?.name ?? replied.senderId : "Reply"),
    h("span", { className: "quote-text" }, replied ? previewText(replied) : "an earlier message"),
  );
}

function reactions(message, meId, onReact) {
  const shown = (message.reactions ?? []).filter((r) => r.count > 0);
  if (shown.length === 0) return null;
  return h(
    "div",
    { className: "reactions" },
    shown.map((r) => {
      const reacted = r.userIds?.includes(meId);
      return h(
        "button",
        {
          type: "button",
          className: `reaction${reacted ? " mine" : ""}`,
          "aria-pressed": reacted ? "true" : "false",
          "aria-label": `${r.emoji} ${r.count}${reacted ? ", including you" : ""}. Toggle your reaction`,
          onclick: () => onReact(message, r.emoji),
        },
        r.emoji,
        h("span", {}, r.count),
      );
    }),
  );
}

/** The ✓ (delivered) or ✓✓ (read) of the user's own message. */
function receipt(message) {
  const read = message.isRead;
  return h(
    "span",
    {
      className: `receipt${read ? " read" : ""}`,
      title: read ? `Read ${fullTime(message.readAt)}` : "Delivered",
      "data-receipt": read ? "read" : "delivered",
    },
    h("span", { "aria-hidden": "true" }, read ? "✓✓" : "✓"),
    h("span", { className: "visually-hidden" }, read ? "Read" : "Delivered"),
  );
}

/** An uploaded file's signed link on this server, or an http(s) link. */
function isAttachmentUrl(url) {
  return url.startsWith("/api/chat/uploads/") || isHttpUrl(url);
}

/** How large an image is shown: its own size, scaled down to fit 280 × 320. */
function imageBox(message) {
  const { attachmentWidth: width, attachmentHeight: height } = message;
  if (!(width > 0 && height > 0)) return {};
  const scale = Math.min(1, MAX_IMAGE_WIDTH / width, MAX_IMAGE_HEIGHT / height);
  const shownWidth = Math.max(1, Math.round(width * scale));
  const shownHeight = Math.max(1, Math.round(height * scale));
  // The box is reserved before the bytes arrive: the list does not jump when the image loads.
  return {
    width: shownWidth,
    height: shownHeight,
    style: { aspectRatio: `${shownWidth} / ${shownHeight}` },
  };
}

const MAX_IMAGE_WIDTH = 280;
const MAX_IMAGE_HEIGHT = 320;

function attachment(message, onImageLoad) {
  const name = message.attachmentName ??
    new URL(message.attachmentUrl, location.href).pathname.split("/").pop() ?? "file";
  const link = { href: message.attachmentUrl, target: "_blank", rel: "noopener noreferrer" };
  if (message.type === "image") {
    return h(
      "a",
      { className: "attachment-image", ...link },
      h("img", {
        src: message.attachmentUrl,
        alt: message.attachmentName ?? "Image",
        loading: "lazy",
        ...imageBox(message),
        // Images grow the list after layout: stay at the bottom if we were there.
        onload: onImageLoad,
      }),
    );
  }
  return h(
    "a",
    { className: "attachment-file", ...link },
    icon("file"),
    h(
      "span",
      {},
      h("span", { className: "file-name" }, name),
      h(
        "span",
        { className: "file-size" },
        fileSize(message.attachmentSize) || message.attachmentType || "Link",
      ),
    ),
  );
}

/** Text with its http(s) links as anchors (built as nodes, never as HTML). */
function linkify(text) {
  const parts = [];
  const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  let last = 0;
  for (const match of text.matchAll(re)) {
    parts.push(text.slice(last, match.index));
    parts.push(h("a", { href: match[0], target: "_blank", rel: "noopener noreferrer" }, match[0]));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}
