/**
 * @module Sending a file as an attachment: create the upload (`chat.createUpload`), then PUT the
 * bytes to its signed link with progress (XMLHttpRequest: fetch reports no upload progress).
 * No bearer token goes with the bytes; the link is the credential.
 */

/** What the server accepts as image attachments (the others go as files). */
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/**
 * The attachment fields a file becomes, before its bytes are sent.
 * @param {File} file
 * @returns {{type: "image" | "file", attachmentName: string, attachmentSize: number, attachmentType: string}}
 */
export function describeFile(file) {
  const contentType = file.type || "application/octet-stream";
  const extension = contentType.split("/")[1]?.replace("jpeg", "jpg") ?? "bin";
  return {
    type: IMAGE_TYPES.has(contentType) ? "image" : "file",
    attachmentName: file.name || `pasted.${extension}`,
    attachmentSize: file.size,
    attachmentType: contentType,
  };
}

/**
 * Uploads a file into a room; resolves with its upload id once every byte is stored.
 * @param {{createUpload(body: object): Promise<any>}} chat
 * @param {{roomId: string, file: File, onProgress?(fraction: number): void, signal?: AbortSignal}} options
 * @returns {Promise<string>}
 */
export async function uploadFile(chat, { roomId, file, onProgress = () => {}, signal }) {
  const { attachmentName: name, attachmentType: contentType } = describeFile(file);
  const created = await chat.createUpload({ roomId, name, contentType, size: file.size });
  await putBytes(created.put, file, onProgress, signal);
  return created.upload.id;
}

/** @returns {Promise<void>} */
function putBytes(put, file, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(put.method, put.url);
    for (const [name, value] of Object.entries(put.headers ?? {})) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let message = `Upload failed (${xhr.status})`;
      try {
        message = JSON.parse(xhr.responseText).error ?? message;
      } catch { /* S3 answers XML */ }
      reject(new Error(message));
    };
    xhr.onerror = () => reject(new Error("Upload failed: cannot reach the server"));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
