/** As fetch's `text()` decodes a body: UTF-8, a byte order mark dropped. */
export const utf8 = new TextDecoder();

/** A kept body as fetch's `text()` gives it: a string as its UTF-8 bytes would decode. */
export function textOf(body: string | Uint8Array): string {
  if (typeof body !== "string") return utf8.decode(body);
  // isWellFormed: ES2024 (Node 20), past our TypeScript lib.
  const wellFormed = (body as string & { isWellFormed(): boolean }).isWellFormed();
  return wellFormed && !body.startsWith("\ufeff") ? body : utf8.decode(Buffer.from(body));
}

/**
 * A kept body's bytes, as a new ArrayBuffer (fetch's `arrayBuffer()` hands out its own). A
 * copy made by the Uint8Array constructor: a Buffer's `slice()` is a view, whose `buffer` is
 * the whole of Node's shared pool, other requests' bytes included.
 */
export function bufferOf(body: string | Uint8Array): ArrayBuffer {
  return (typeof body === "string" ? new TextEncoder().encode(body) : new Uint8Array(body))
    .buffer as ArrayBuffer;
}

/** What fetch throws on a second read of a body. */
export const unusable = () => new TypeError("Body is unusable: Body has already been read");
