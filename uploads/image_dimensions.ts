/**
 * @module The pixel size of a PNG, JPEG, GIF or WebP read from its first bytes
 * (npm:image-size), for `attachmentWidth` and `attachmentHeight`.
 */
import { imageSize } from "image-size";

/** How many leading bytes are kept to read the size from: a JPEG's frame header may follow large EXIF data. */
export const DIMENSION_HEAD_BYTES = 256 * 1024;

/** Width and height from the head of an image, or undefined when they cannot be read from it. */
export function imageDimensions(head: Uint8Array): { width: number; height: number } | undefined {
  try {
    const { width, height, orientation } = imageSize(head);
    if (!(width > 0 && height > 0)) return undefined;
    // EXIF orientations 5–8 turn the picture a quarter: browsers show it with the sides swapped.
    return orientation !== undefined && orientation >= 5
      ? { width: height, height: width }
      : { width, height };
  } catch {
    return undefined; // not an image the reader knows, or the head ends before the size
  }
}
