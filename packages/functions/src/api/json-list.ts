/**
 * A long JSON list answered without holding it whole: `{"<key>": [...]}` written a page of
 * items at a time, and gzip-compressed as it is written once it passes COMPRESS_FROM bytes
 * and the client accepts gzip (the epx client does). A 100,000-run job is ~40 MB of JSON and
 * ~0.35 MB gzipped; only a page of rows and the compressed bytes are in memory at once.
 * The body is complete before the response starts, so a failure on any page is an ordinary
 * error response (a 503 JSON), never a truncated 200. (Lambda's buffered responses could not
 * stream it anyway.)
 */
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { createGzip, type Gzip } from "node:zlib";
import type { Context, TypedResponse } from "hono";
import { accepts } from "hono/accepts";
import type { JSONParsed } from "hono/utils/types";

/** Smaller bodies go uncompressed, as hono/compress's threshold does for the other routes. */
export const COMPRESS_FROM = 8 * 1024;

/** The response, typed as `c.json({ [key]: items })` would be, for the route's schema. */
type ListResponse<K extends string, V> = Response &
  TypedResponse<JSONParsed<{ [k in K]: V[] }>, 200, "json">;

export async function jsonList<K extends string, T, V>(
  c: Context,
  key: K,
  pages: AsyncIterable<T[]>,
  view: (item: T) => V,
): Promise<ListResponse<K, V>> {
  const gzip =
    accepts(c, { header: "Accept-Encoding", supports: ["gzip"], default: "identity" }) === "gzip";
  const plain: string[] = [];
  let plainBytes = 0;
  let zip: Gzip | undefined;
  let zipDone: Promise<void> | undefined;
  const zipped: Buffer[] = [];

  const write = async (text: string) => {
    if (!zip) {
      plain.push(text);
      plainBytes += Buffer.byteLength(text);
      if (!gzip || plainBytes < COMPRESS_FROM) return;
      // Level 1: half the default level's time here, and these lists (runs that differ
      // in a few fields) come out only ~3% larger.
      zip = createGzip({ level: 1 });
      zip.on("data", (chunk: Buffer) => zipped.push(chunk));
      zipDone = finished(zip); // listens for errors from now on; awaited at the end
      zipDone.catch(() => {});
      text = plain.splice(0).join("");
    }
    if (!zip.write(text)) await once(zip, "drain");
  };

  try {
    await write(`{${JSON.stringify(key)}:[`);
    let first = true;
    for await (const page of pages) {
      if (!page.length) continue;
      // One stringify per page; its brackets dropped, the items join the list.
      const items = JSON.stringify(page.map(view)).slice(1, -1);
      await write(first ? items : `,${items}`);
      first = false;
    }
    await write("]}");
  } catch (error) {
    zip?.destroy();
    throw error;
  }

  // The body is the JSON text of `{ [key]: items }`, which the compiler cannot see.
  const typed = (res: Response) => res as unknown as ListResponse<K, V>;
  const headers = { "content-type": "application/json", vary: "Accept-Encoding" };
  if (!zip) return typed(c.body(plain.join(""), 200, headers));
  zip.end();
  await zipDone;
  return typed(c.body(Buffer.concat(zipped), 200, { ...headers, "content-encoding": "gzip" }));
}
