/** As fetch's `text()` decodes a body: UTF-8, a byte order mark dropped. */
export const utf8 = new TextDecoder();

/** What fetch throws on a second read of a body. */
export const unusable = () => new TypeError("Body is unusable: Body has already been read");
