/**
 * @module The composer: the message box (Enter sends, Shift+Enter adds a line, ArrowUp edits the
 * last own message, Escape cancels a reply or edit), the reply/edit line and the attachment chip
 * rendered from the store (with the upload's progress), the attach dialog (a file, or a link), files
 * dropped on the conversation or pasted into the box, and the typing signal it sends.
 */
import { previewText } from "../common/preview.js";
import { lastOwnText } from "./store.js";
import { describeFile, uploadFile } from "./uploads.js";
import { $, fileSize, h, icon, isHttpUrl, toast } from "./view.js";

const TYPING_SEND_EVERY_MS = 3000;
const TYPING_IDLE_MS = 4000;

/**
 * Mounts the composer; returns `startReply(message)` and `startEdit(message)` for the message menu.
 * @param {{store: any, sync: any, chat: any}} ctx
 */
export function mountComposer(ctx) {
  const { store, sync, chat } = ctx;
  const input = $("composer-input");
  let shown = { visit: 0, loaded: false, composer: null };
  /** The typing signal sent: when, for which room, and the timer that ends it. */
  let typing = { sentAt: 0, roomId: null, idle: 0 };
  /** Uploads on their way, by room: the promise of the upload id, and how to cancel it. */
  const uploads = new Map();

  const dispatch = (type, extra = {}) => {
    const roomId = store.getState().open?.roomId;
    if (roomId) store.dispatch({ type, roomId, ...extra });
  };

  input.addEventListener("input", onInput);
  input.addEventListener("keydown", (event) => {
    const composer = store.getState().open?.composer;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape" && (composer?.replyTo || composer?.editing)) {
      event.preventDefault();
      reset();
    } else if (event.key === "ArrowUp" && !input.value && composer) {
      const last = lastOwnText(store.getState());
      if (last) {
        event.preventDefault();
        startEdit(last);
      }
    }
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  $("composer-cancel").addEventListener("click", () => {
    reset();
    input.focus();
  });
  $("attachment-remove").addEventListener("click", () => {
    const roomId = store.getState().open?.roomId;
    uploads.get(roomId)?.controller.abort();
    uploads.delete(roomId);
    dispatch("composer/attach", { attachment: null });
    input.focus();
  });
  mountAttachDialog((attachment) => {
    dispatch("composer/attach", { attachment });
    input.focus();
  }, attachFile);
  mountDropAndPaste(input, attachFile);

  store.subscribe(render);
  render(store.getState());

  function render(state) {
    const open = state.open;
    if ((open?.visit ?? 0) !== shown.visit) {
      // Another room: stop saying we type here, and an edit does not follow (a draft does).
      stopTyping();
      if (shown.composer?.editing) input.value = "";
      shown = { visit: open?.visit ?? 0, loaded: false, composer: null };
      autosize();
    }
    if (!open) return;
    if (open.composer !== shown.composer) renderContext(open.composer);
    if (open.loaded && !shown.loaded && !state.focus && matchMedia("(min-width: 760px)").matches) {
      input.focus();
    }
    shown = { ...shown, loaded: open.loaded, composer: open.composer };
  }

  function renderContext({ replyTo, editing, attachment }) {
    const box = $("composer-context");
    box.hidden = !replyTo && !editing;
    if (replyTo || editing) {
      box.dataset.kind = editing ? "edit" : "reply";
      const text = editing
        ? "Editing message"
        : `Replying to ${replyTo.sender?.name ?? replyTo.senderId}: ${previewText(replyTo)}`;
      $("composer-context-text").replaceChildren(icon(editing ? "edit" : "reply"), h("span", {}, text));
    }
    $("attachment-chip").hidden = !attachment;
    const progress = $("attachment-progress");
    progress.hidden = !attachment?.uploading;
    if (attachment) {
      const size = attachment.attachmentSize === undefined ? "" : ` (${fileSize(attachment.attachmentSize)})`;
      $("attachment-chip-text").textContent = `${attachment.type === "image" ? "Image" : "File"}: ${
        attachment.attachmentName ?? attachment.attachmentUrl
      }${size}`;
      progress.value = attachment.progress ?? 0;
    }
  }

  /** Starts uploading a picked, dropped or pasted file into the open room; the chip shows its progress. */
  function attachFile(file) {
    const open = store.getState().open;
    if (!open || open.composer.editing) return;
    const { roomId } = open;
    uploads.get(roomId)?.controller.abort();
    const fields = describeFile(file);
    const controller = new AbortController();
    const update = (attachment) => store.dispatch({ type: "composer/attach", roomId, attachment });
    let shownPercent = 0;
    update({ ...fields, uploading: true, progress: 0 });
    const onProgress = (fraction) => {
      const percent = Math.floor(fraction * 100);
      if (percent === shownPercent) return;
      shownPercent = percent;
      update({ ...fields, uploading: true, progress: fraction });
    };
    const promise = uploadFile(chat, { roomId, file, onProgress, signal: controller.signal }).then(
      (uploadId) => {
        if (uploads.get(roomId)?.controller === controller) update({ ...fields, uploadId });
        return uploadId;
      },
      (err) => {
        if (uploads.get(roomId)?.controller === controller) {
          uploads.delete(roomId);
          update(null);
        }
        if (err.name !== "AbortError") toast(err.message, "error");
        return null;
      },
    );
    uploads.set(roomId, { promise, controller });
    input.focus();
  }

  function startReply(message) {
    dispatch("composer/replyTo", { message });
    input.focus();
  }

  function startEdit(message) {
    dispatch("composer/edit", { message });
    input.value = message.content;
    autosize();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  /** Drops the reply or edit (an edit's text with it); an attachment stays. */
  function reset() {
    if (store.getState().open?.composer.editing) input.value = "";
    dispatch("composer/reset");
    autosize();
  }

  async function submit() {
    const open = store.getState().open;
    if (!open) return;
    const content = input.value.trim();
    const { replyTo, editing, attachment } = open.composer;
    if (editing) {
      if (!content) return toast("A message cannot be empty; delete it instead", "error");
      reset();
      input.value = "";
      autosize();
      if (content === editing.content) return;
      try {
        await sync.edit(editing, content);
      } catch (err) {
        toast(err.message, "error");
      }
      return;
    }
    if (!content && !attachment) return;
    const upload = uploads.get(open.roomId);
    uploads.delete(open.roomId);
    input.value = "";
    dispatch("composer/attach", { attachment: null });
    reset();
    stopTyping();
    input.focus();
    // A file still uploading is sent once its bytes are stored (a failed upload sends nothing).
    const uploadId = attachment?.uploading ? await upload?.promise : attachment?.uploadId;
    if (attachment?.uploading && !uploadId) return;
    const body = {
      roomId: open.roomId,
      content,
      clientMessageId: crypto.randomUUID(),
      ...(replyTo ? { replyToId: replyTo.id } : {}),
      ...(uploadId ? { type: attachment.type, uploadId } : attachment ?? {}),
    };
    await sync.send(body);
  }

  function onInput() {
    autosize();
    const open = store.getState().open;
    if (!open || open.composer.editing) return;
    if (!input.value.trim()) return stopTyping();
    const now = Date.now();
    if (now - typing.sentAt > TYPING_SEND_EVERY_MS || typing.roomId !== open.roomId) {
      typing = { ...typing, sentAt: now, roomId: open.roomId };
      chat.typing(open.roomId, true).catch(() => {});
    }
    clearTimeout(typing.idle);
    typing.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typing.idle);
    const { roomId } = typing;
    if (!roomId) return;
    typing = { sentAt: 0, roomId: null, idle: 0 };
    chat.typing(roomId, false).catch(() => {});
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  return { startReply, startEdit };
}

/**
 * The attach dialog: a file from the picker goes to `onFile`; a link's attachment fields to `onAttach`.
 */
function mountAttachDialog(onAttach, onFile) {
  const form = $("attach-form");
  const picker = $("attach-file");
  $("attach-file-button").addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    const file = picker.files?.[0];
    picker.value = "";
    $("attach-dialog").close();
    if (file) onFile(file);
  });
  $("attach-button").addEventListener("click", () => {
    form.reset();
    form.querySelector(".form-error").textContent = "";
    $("attach-dialog").showModal();
  });
  $("attach-url").addEventListener("input", () => {
    const url = $("attach-url").value;
    const kind = /\.(png|jpe?g|gif|webp|avif|svg)(\?|#|$)/i.test(url) ? "image" : "file";
    form.querySelector(`input[value=${kind}]`).checked = true;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const url = $("attach-url").value.trim();
    if (!isHttpUrl(url)) {
      form.querySelector(".form-error").textContent = "Enter an http:// or https:// link";
      return;
    }
    const kind = form.querySelector("input[name=attach-kind]:checked").value;
    const name = $("attach-name").value.trim() ||
      decodeURIComponent(new URL(url).pathname.split("/").pop() || "");
    $("attach-dialog").close();
    onAttach({ type: kind, attachmentUrl: url, ...(name ? { attachmentName: name.slice(0, 255) } : {}) });
  });
}

/** Files dropped on the conversation, or an image pasted into the message box, are attached. */
function mountDropAndPaste(input, onFile) {
  const pane = input.closest("section") ?? document.body;
  const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes("Files");
  pane.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    pane.classList.add("dropping");
  });
  pane.addEventListener("dragleave", (event) => {
    if (!pane.contains(event.relatedTarget)) pane.classList.remove("dropping");
  });
  pane.addEventListener("drop", (event) => {
    pane.classList.remove("dropping");
    const file = event.dataTransfer?.files?.[0];
    if (!file) return;
    event.preventDefault();
    onFile(file);
  });
  input.addEventListener("paste", (event) => {
    const file = [...(event.clipboardData?.files ?? [])][0];
    if (!file) return;
    event.preventDefault();
    onFile(file);
  });
}
