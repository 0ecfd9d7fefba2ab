/**
 * API Gateway REST (v1 proxy) events to the Hono app, and its responses back: the Lambda
 * entry's adapter (../../api.ts), in place of `hono/aws-lambda`.
 *
 * Why our own: on Node 20 the stock adapter's `new Request(url, { body })` builds a web
 * stream (and an AbortSignal) for every request with a body, Hono's body readers read that
 * stream back chunk by chunk, every `c.json()` builds a fetch Response with a stream of its
 * own that the adapter reads back, and a binary response is base64-encoded one byte at a
 * time. Here Hono gets a request whose body is the event's bytes (./event-request.ts) and
 * responses keep their text (./event-response.ts), both with headers of our own
 * (./event-headers.ts); anything that needs a real `Request` or `Response` gets one, built
 * on first use. So a cold start whose first request is answered with text never loads
 * Node's fetch classes (./fetch-classes.ts: ~15 ms). `hono/aws-lambda` is deprecated in hono 4, and
 * it serves five event kinds where we deploy one. packages/functions/test/gateway.test.ts
 * holds the two to the same answers.
 */

import { errorBody } from "../error";
import { log } from "../log";
import { utf8 } from "./body";
import { EventHeaders } from "./event-headers";
import { EventRequest, EventRequestClass } from "./event-request";
import { EventResponse } from "./event-response";
import { installFetchClasses } from "./fetch-classes";

export { EventResponse };

/** The fields of an API Gateway REST proxy event that this adapter reads. */
export interface RestEvent {
  resource?: string;
  path: string;
  httpMethod: string;
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  pathParameters?: Record<string, string | undefined> | null;
  requestContext?: { domainName?: string; requestId?: string };
  body?: string | null;
  isBase64Encoded?: boolean;
}

export interface RestResult {
  statusCode: number;
  multiValueHeaders: Record<string, string[]>;
  body: string;
  isBase64Encoded: boolean;
}

/** What the app gets as its environment (`c.env`). */
export interface GatewayEnv {
  event: RestEvent;
  requestContext: RestEvent["requestContext"];
  lambdaContext: unknown;
}

/**
 * A Lambda handler for `app` behind an API Gateway REST API's proxy integration. It makes
 * `Response`, `Headers` and `Request` mean `EventResponse`, `EventHeaders` and
 * `EventRequestClass` in every module's code, hono's included (see installFetchClasses): a
 * request whose route answers with text loads none of Node's fetch classes.
 */
export function handle(app: {
  fetch(request: Request, env: GatewayEnv): Response | Promise<Response>;
}) {
  installFetchClasses({
    Headers: EventHeaders as unknown as typeof Headers,
    Request: EventRequestClass,
    Response: EventResponse as unknown as typeof Response,
  });
  return async (event: RestEvent, lambdaContext?: unknown): Promise<RestResult> => {
    let request: Request;
    try {
      request = toRequest(event);
    } catch (error) {
      const requestId = event.requestContext?.requestId;
      log.warn("malformed event", { requestId, error: (error as Error).message });
      return invalidRequest(requestId);
    }
    const res = await app.fetch(request, {
      event,
      requestContext: event.requestContext,
      lambdaContext,
    });
    return toResult(res);
  };
}

function toRequest(event: RestEvent): Request {
  const headers = new EventHeaders() as unknown as Headers;
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    for (const value of values ?? []) headers.append(name, headerValue(value));
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value && !headers.has(name)) headers.set(name, headerValue(value));
  }
  // Never the Host header: a client could put a path in it.
  const host = event.requestContext?.domainName ?? "localhost";
  const query = queryString(event);
  const url = new URL(`https://${host}${event.path}${query ? `?${query}` : ""}`).href;
  const method = event.httpMethod.toUpperCase();
  // The body is whole here (or there is none): what the client said of it no longer holds.
  headers.delete("content-length");
  headers.delete("transfer-encoding");
  let body: Buffer | null = null;
  // A GET or HEAD has no body in HTTP's semantics (nor may a fetch Request carry one).
  if (event.body && method !== "GET" && method !== "HEAD") {
    body = Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
    headers.set("content-length", String(body.length)); // the body limit reads it
  }
  return new EventRequest(method, url, headers, body) as unknown as Request;
}

/** Non-ASCII header values are percent-encoded (a fetch `Headers` refuses some of them). */
function headerValue(value: string): string {
  return /[\u0080-\uFFFF]/.test(value) ? encodeURIComponent(value) : value;
}

/** The gateway passes the query decoded; Hono reads it from the URL, encoded again. */
function queryString(event: RestEvent): string {
  const pairs: string[] = [];
  const add = (name: string, value: string) =>
    pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  if (event.multiValueQueryStringParameters) {
    for (const [name, values] of Object.entries(event.multiValueQueryStringParameters)) {
      for (const value of values ?? []) add(name, value);
    }
  } else {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
      if (value != null) add(name, value);
    }
  }
  return pairs.join("&");
}

async function toResult(res: Response): Promise<RestResult> {
  const type = res.headers.get("content-type");
  const encoding = res.headers.get("content-encoding");
  const binary =
    (type !== null && isBinaryType(type)) || (encoding !== null && !/^identity$/i.test(encoding));
  const body = await bodyOf(res, binary);
  const multiValueHeaders: Record<string, string[]> = {};
  res.headers.forEach((value, name) => {
    if (name !== "set-cookie") multiValueHeaders[name] = [value];
  });
  const cookies = res.headers.getSetCookie();
  if (cookies.length) multiValueHeaders["set-cookie"] = cookies;
  return { statusCode: res.status, multiValueHeaders, body, isBase64Encoded: binary };
}

/** The body for the gateway: base64 if binary, read from the stream only if it has one. */
async function bodyOf(res: Response, binary: boolean): Promise<string> {
  const kept = EventResponse.bodyOf(res);
  if (kept === undefined) {
    return binary ? Buffer.from(await res.arrayBuffer()).toString("base64") : res.text();
  }
  if (typeof kept === "string" || kept === null) {
    return binary ? Buffer.from(kept ?? "").toString("base64") : (kept ?? "");
  }
  const bytes = Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength);
  return binary ? bytes.toString("base64") : utf8.decode(bytes);
}

/** Text goes to the gateway as it is; anything else base64-encoded (as hono's adapter decides). */
function isBinaryType(type: string): boolean {
  if (/^application\/vnd\.(?:apple\.installer|mozilla\.xul)\+xml\s*(?:;|$)/i.test(type))
    return true;
  return !/^text\/(?:plain|html|css|javascript|csv)|(?:\/|\+)(?:json|xml)\s*(?:;|$)/i.test(type);
}

/**
 * An event no request can be made of (a header name or a path a fetch Request refuses; the
 * gateway sends neither): 400, in our error shape.
 */
function invalidRequest(requestId: string | undefined): RestResult {
  return {
    statusCode: 400,
    multiValueHeaders: {
      "content-type": ["application/json"],
      ...(requestId ? { "x-request-id": [requestId] } : {}),
    },
    body: JSON.stringify(errorBody("invalid", "The request is malformed.")),
    isBase64Encoded: false,
  };
}
