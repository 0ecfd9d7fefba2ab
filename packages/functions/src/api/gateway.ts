/**
 * API Gateway REST (v1 proxy) events to the Hono app, and its responses back: the Lambda
 * entry's adapter (../api.ts), in place of `hono/aws-lambda`.
 *
 * Why our own: on Node 20 the stock adapter's `new Request(url, { body })` builds a web
 * stream (and an AbortSignal) for every request with a body, Hono's body readers read that
 * stream back chunk by chunk, and a binary response is base64-encoded one byte at a time.
 * Here Hono gets a request whose body is the event's bytes, read in one step; anything
 * that needs a real `Request` (the `body` stream, `signal`, `clone()`, `formData()`) gets
 * one, built on first use. `hono/aws-lambda` is deprecated in hono 4, and it serves five
 * event kinds where we deploy one. packages/functions/test/gateway.test.ts holds the two
 * to the same answers.
 */

import { log } from "./log";

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
 * `EventResponse` the global `Response` (see there).
 */
export function handle(app: {
  fetch(request: Request, env: GatewayEnv): Response | Promise<Response>;
}) {
  globalThis.Response = EventResponse as unknown as typeof Response;
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
  const headers = new Headers();
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
  let body: Buffer | null = null;
  // A GET or HEAD has no body in HTTP's semantics (nor may a fetch Request carry one).
  if (event.body && method !== "GET" && method !== "HEAD") {
    body = Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
    // The gateway may leave it out; the body limit reads it. The body is whole here, so
    // a client's Transfer-Encoding no longer describes it.
    headers.set("content-length", String(body.length));
    headers.delete("transfer-encoding");
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

const unusable = () => new TypeError("Body is unusable: Body has already been read");
/** As fetch decodes text: UTF-8, a byte order mark dropped. */
const utf8 = new TextDecoder();

/**
 * What Hono and our middleware read of a request, with the body as the event's bytes.
 * It is a `Request` to `instanceof`; the rest of `Request` is a real one, built on first
 * use (after which the body is read through it).
 */
class EventRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  #body: Buffer | null;
  #used = false;
  #native: Request | undefined;

  constructor(method: string, url: string, headers: Headers, body: Buffer | null) {
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.#body = body;
  }

  native(): Request {
    this.#native ??= new Request(this.url, {
      method: this.method,
      headers: this.headers,
      body: this.#used ? null : this.#body,
    });
    return this.#native;
  }

  get body() {
    return this.native().body;
  }
  get bodyUsed() {
    return this.#used || (this.#native?.bodyUsed ?? false);
  }
  get signal() {
    return this.native().signal;
  }

  /** The body's bytes, once, unless a real Request has taken the body over. */
  #read(): Promise<Buffer> | undefined {
    if (this.#native) return undefined;
    if (this.#used) return Promise.reject(unusable());
    this.#used = true;
    return Promise.resolve(this.#body ?? Buffer.alloc(0));
  }
  /** The real Request, for a use of the body this class does not serve itself. */
  #forBody(): Request {
    if (this.#used && !this.#native) throw unusable();
    return this.native();
  }
  text(): Promise<string> {
    return this.#read()?.then((b) => utf8.decode(b)) ?? this.native().text();
  }
  json(): Promise<unknown> {
    return this.#read()?.then((b) => JSON.parse(utf8.decode(b))) ?? this.native().json();
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return (
      this.#read()?.then((b) => new Uint8Array(b).buffer as ArrayBuffer) ??
      this.native().arrayBuffer()
    );
  }
  bytes(): Promise<Uint8Array> {
    const bytes = this.#read() ?? this.native().arrayBuffer();
    return bytes.then((b) => new Uint8Array(b));
  }
  async blob(): Promise<Blob> {
    return this.#forBody().blob();
  }
  async formData() {
    return this.#forBody().formData();
  }
  clone(): Request {
    return this.#forBody().clone();
  }
  [Symbol.for("nodejs.util.inspect.custom")]() {
    return { method: this.method, url: this.url, headers: Object.fromEntries(this.headers) };
  }
}
for (const name of [
  "cache",
  "credentials",
  "destination",
  "duplex",
  "integrity",
  "isHistoryNavigation",
  "isReloadNavigation",
  "keepalive",
  "mode",
  "redirect",
  "referrer",
  "referrerPolicy",
]) {
  Object.defineProperty(EventRequest.prototype, name, {
    get(this: EventRequest) {
      return this.native()[name as keyof Request];
    },
  });
}
Object.setPrototypeOf(EventRequest.prototype, Request.prototype);

const NativeResponse = globalThis.Response;

/**
 * A `Response` with a text body (or none), as Hono's `c.json()` and `c.body()` make them,
 * kept as the text: the adapter hands that text to the gateway where a real `Response`
 * would have built a web stream for it only to be read back. Anything else of `Response`
 * gets a real one, built on first use; other bodies (streams, bytes) make a real one at
 * once. Installed as the global `Response` by `handle()`, for the Lambda only (as
 * @hono/node-server does for `pnpm start`).
 */
export class EventResponse {
  #text: string | null | undefined;
  #status = 200;
  #statusText = "";
  #headers: Headers | undefined;
  #native: Response | undefined;

  constructor(body?: ConstructorParameters<typeof Response>[0], init?: ResponseInit) {
    const status = init?.status ?? 200;
    if (
      (body != null && typeof body !== "string") ||
      status < 200 ||
      status > 599 ||
      (body != null && NULL_BODY.has(status))
    ) {
      this.#native = new NativeResponse(body, init);
      return;
    }
    this.#text = body ?? null;
    this.#status = status;
    this.#statusText = init?.statusText ?? "";
    this.#headers = new Headers(init?.headers);
    if (typeof body === "string" && !this.#headers.has("content-type")) {
      this.#headers.set("content-type", "text/plain;charset=UTF-8");
    }
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof NativeResponse;
  }

  /** The body as text when it never left this object, else undefined. */
  static textOf(res: Response): string | null | undefined {
    return #text in res ? (res as unknown as EventResponse).#unread() : undefined;
  }

  #unread(): string | null | undefined {
    return this.#native ? undefined : this.#text;
  }

  native(): Response {
    this.#native ??= new NativeResponse(this.#text, {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.#headers,
    });
    return this.#native;
  }

  get status() {
    return this.#native?.status ?? this.#status;
  }
  get statusText() {
    return this.#native?.statusText ?? this.#statusText;
  }
  get ok() {
    const status = this.status;
    return status >= 200 && status < 300;
  }
  get bodyUsed(): boolean {
    return this.#native?.bodyUsed ?? false;
  }
  get headers(): Headers {
    return this.#native?.headers ?? (this.#headers as Headers);
  }
}
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
for (const name of ["body", "redirected", "type", "url"]) {
  Object.defineProperty(EventResponse.prototype, name, {
    get(this: EventResponse) {
      return this.native()[name as keyof Response];
    },
  });
}
for (const name of ["arrayBuffer", "blob", "bytes", "clone", "formData", "json", "text"]) {
  Object.defineProperty(EventResponse.prototype, name, {
    value(this: EventResponse) {
      return (this.native()[name as keyof Response] as () => unknown).call(this.native());
    },
  });
}
Object.setPrototypeOf(EventResponse.prototype, NativeResponse.prototype);
Object.setPrototypeOf(EventResponse, NativeResponse);

async function toResult(res: Response): Promise<RestResult> {
  const type = res.headers.get("content-type");
  const encoding = res.headers.get("content-encoding");
  const binary =
    (type !== null && isBinaryType(type)) || (encoding !== null && !/^identity$/i.test(encoding));
  const text = EventResponse.textOf(res);
  const body =
    text !== undefined
      ? binary
        ? Buffer.from(text ?? "").toString("base64")
        : (text ?? "")
      : binary
        ? Buffer.from(await res.arrayBuffer()).toString("base64")
        : await res.text();
  const multiValueHeaders: Record<string, string[]> = {};
  res.headers.forEach((value, name) => {
    if (name !== "set-cookie") multiValueHeaders[name] = [value];
  });
  const cookies = res.headers.getSetCookie();
  if (cookies.length) multiValueHeaders["set-cookie"] = cookies;
  return { statusCode: res.status, multiValueHeaders, body, isBase64Encoded: binary };
}

/** Text goes to the gateway as it is; anything else base64-encoded (as hono's adapter decides). */
function isBinaryType(type: string): boolean {
  if (/^application\/vnd\.(?:apple\.installer|mozilla\.xul)\+xml\s*(?:;|$)/i.test(type))
    return true;
  return !/^text\/(?:plain|html|css|javascript|csv)|(?:\/|\+)(?:json|xml)\s*(?:;|$)/i.test(type);
}

/** An event no URL can be made of (the gateway does not send one): 400, in our error shape. */
function invalidRequest(requestId: string | undefined): RestResult {
  return {
    statusCode: 400,
    multiValueHeaders: {
      "content-type": ["application/json"],
      ...(requestId ? { "x-request-id": [requestId] } : {}),
    },
    body: JSON.stringify({ error: { code: "invalid", message: "The request is malformed." } }),
    isBase64Encoded: false,
  };
}
