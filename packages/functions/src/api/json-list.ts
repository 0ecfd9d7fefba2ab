/**
 * A long JSON list answered without holding it whole: `{"<key>": [...]}` written a page of
 * items at a time, and compressed as it is written once it passes COMPRESS_FROM bytes and
 * the client accepts gzip or deflate (the epx client sends `gzip, deflate`). A 100,000-run
 * job is ~40 MB of JSON and ~0.35 MB gzipped; only a page of rows and the compressed bytes
 * are in memory at once. The body is complete before the response starts, so a failure on
 * any page is an ordinary error response (a 503 JSON), never a truncated 200. (Lambda's
 * buffered responses could not stream it anyway.)
 */
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { promisify } from "node:util";
import type { Deflate, Gzip } from "node:zlib";
import { JsonText } from "@fred/core/util";
import type { Context, TypedResponse } from "hono";
import { HTTPException } from "hono/http-exception";
import { parseAccept } from "hono/utils/accept";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";

/** Shorter lists go uncompressed: not worth the bytes. */
export const COMPRESS_FROM = 8 * 1024;

/**
 * Longer lists go compressed or not at all: Lambda returns at most 6 MB, the body escaped
 * inside a JSON document (each `"` and `\\` doubles there: counted so, a list of quotes
 * cannot slip past). Refused as it passes this size (a 406 that says to accept gzip), not
 * after the whole list was read and the gateway answered 502.
 */
export const MAX_UNCOMPRESSED = 5 * 1024 * 1024;

/** A list's headers: JSON, compressed or not by what the client accepts. */
const LIST_HEADERS = { "content-type": "application/json", vary: "Accept-Encoding" };
const JSON_HEADERS = { "content-type": "application/json" };

/**
 * Level 1: half the default level's time here, and these lists (runs that differ in a few
 * fields) come out only ~3% larger.
 */
const ZIP_OPTIONS = { level: 1 };

/** An item as written: its JsonText values are the JSON they hold. */
type Written<V> = { [P in keyof V]: V[P] extends JsonText<infer X> ? X : V[P] };

/** The response, typed as `c.json({ [key]: items })` would be, for the route's schema. */
type ListResponse<K extends string, V> = Response &
  TypedResponse<JSONParsed<{ [k in K]: Written<V>[] }>, 200, "json">;

/** `each` calls its argument with every page in order, awaiting it, and resolves after. */
type Pages<T> = (onPage: (items: T[]) => Promise<void>) => Promise<void>;

export async function jsonList<K extends string, T, V extends object>(
  c: Context,
  key: K,
  each: Pages<T>,
  view: (item: T) => V,
): Promise<ListResponse<K, V>> {
  const encoding = acceptedEncoding(c.req.header("accept-encoding"));
  const plain: string[] = [];
  let plainBytes = 0;
  let escapedBytes = 0; // the plain body's size as a JSON string in Lambda's result
  let zip: Gzip | Deflate | undefined;
  let zipDone: Promise<void> | undefined;
  const zipped: Buffer[] = [];

  const write = async (text: string) => {
    if (!zip) {
      plain.push(text);
      plainBytes += Buffer.byteLength(text);
      if (!encoding) escapedBytes += Buffer.byteLength(JSON.stringify(text)) - 2;
      if (!encoding && escapedBytes > MAX_UNCOMPRESSED) {
        throw new HTTPException(406, {
          message: `This list is over ${MAX_UNCOMPRESSED / 1024 / 1024} MiB as Lambda returns it: send Accept-Encoding: gzip to receive it compressed.`,
        });
      }
      if (!encoding || plainBytes < COMPRESS_FROM) return;
      // node:zlib loads on the first list that needs it, not with every cold start.
      const { createDeflate, createGzip } = await import("node:zlib");
      zip = encoding === "gzip" ? createGzip(ZIP_OPTIONS) : createDeflate(ZIP_OPTIONS);
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
    await each(async (page) => {
      if (!page.length) return;
      const items = pageJson(page.map(view));
      await write(first ? items : `,${items}`);
      first = false;
    });
    await write("]}");
  } catch (error) {
    zip?.destroy();
    throw error;
  }

  // The body is the JSON text of `{ [key]: items }`, which the compiler cannot see.
  const typed = (res: Response) => res as unknown as ListResponse<K, V>;
  if (!zip || !encoding) return typed(c.body(plain.join(""), 200, LIST_HEADERS));
  zip.end();
  await zipDone;
  const body = Buffer.concat(zipped);
  return typed(c.body(body, 200, { ...LIST_HEADERS, "content-encoding": encoding }));
}

/**
 * `c.json(value, 200)`, compressed as `jsonList` compresses (from COMPRESS_FROM bytes, when
 * the client accepts gzip or deflate), for a response that is held whole anyway: a page.
 */
export async function compressedJson<T>(
  c: Context,
  value: T,
): Promise<Response & TypedResponse<JSONParsed<T>, 200, "json">> {
  const text = JSON.stringify(value);
  const encoding = acceptedEncoding(c.req.header("accept-encoding"));
  const typed = (res: Response) => res as Response & TypedResponse<JSONParsed<T>, 200, "json">;
  // A HEAD has no body to compress.
  if (!encoding || c.req.method === "HEAD" || Buffer.byteLength(text) < COMPRESS_FROM) {
    return typed(c.body(text, 200, LIST_HEADERS));
  }
  const { deflate, gzip } = await import("node:zlib");
  const zip = promisify(encoding === "gzip" ? gzip : deflate);
  const body = await zip(text, ZIP_OPTIONS);
  return typed(c.body(body, 200, { ...LIST_HEADERS, "content-encoding": encoding }));
}

/**
 * `c.json({ [key]: items }, status)`, or `c.json(items[0], status)` without a key, for items
 * that hold JsonText (see `pageJson`): a batch of submitted runs, written with the texts
 * their requests were stored as.
 */
export function jsonWithText<V extends object, S extends ContentfulStatusCode>(
  c: Context,
  item: V,
  status: S,
): Response & TypedResponse<JSONParsed<Written<V>>, S, "json">;
export function jsonWithText<K extends string, V extends object, S extends ContentfulStatusCode>(
  c: Context,
  key: K,
  items: V[],
  status: S,
): Response & TypedResponse<JSONParsed<{ [k in K]: Written<V>[] }>, S, "json">;
export function jsonWithText(c: Context, ...args: unknown[]): Response {
  if (typeof args[0] !== "string") {
    const [item, status] = args as [object, ContentfulStatusCode];
    return c.body(pageJson([item]), status, JSON_HEADERS);
  }
  const [key, items, status] = args as [string, object[], ContentfulStatusCode];
  return c.body(`{${JSON.stringify(key)}:[${pageJson(items)}]}`, status, JSON_HEADERS);
}

/**
 * A page's items as JSON, without the array's brackets. One stringify for the page, unless
 * its items hold JsonText (flat items with the same keys, as a view makes them): then one
 * per item, each JsonText written where its key stands. Its key is stringified with `null`
 * and that `null` replaced: `"key":null` can only be the key itself, since every quote
 * inside a JSON string is escaped. The items are views made for this: their JsonText
 * values are left `null`.
 */
function pageJson(items: object[]): string {
  if (!items.length) return "";
  const first = items[0] as Record<string, unknown>;
  const raw = Object.keys(first).filter((k) => first[k] instanceof JsonText);
  if (!raw.length) return JSON.stringify(items).slice(1, -1);
  const keys = raw.map((k) => `${JSON.stringify(k)}:`);
  let out = "";
  for (const item of items as Record<string, unknown>[]) {
    const texts = raw.map((k) => (item[k] as JsonText<unknown>).text);
    for (const k of raw) item[k] = null;
    let json = JSON.stringify(item);
    raw.forEach((_, i) => {
      const at = json.indexOf(`${keys[i]}null`) + keys[i]!.length;
      json = json.slice(0, at) + texts[i] + json.slice(at + 4);
    });
    out += out ? `,${json}` : json;
  }
  return out;
}

/** gzip or deflate if the client takes one (by q-value, `*` included; gzip on a tie). */
function acceptedEncoding(header: string | undefined): "gzip" | "deflate" | undefined {
  if (!header) return undefined;
  const accepts = parseAccept(header);
  const q = (name: string) =>
    accepts.find((a) => a.type.toLowerCase() === name)?.q ??
    accepts.find((a) => a.type === "*")?.q ??
    0;
  const [gzip, deflate] = [q("gzip"), q("deflate")];
  if (gzip > 0 && gzip >= deflate) return "gzip";
  return deflate > 0 ? "deflate" : undefined;
}
