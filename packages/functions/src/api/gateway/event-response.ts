import { bufferOf, textOf, unusable } from "./body";
import { EventHeaders } from "./event-headers";
import { fetchClasses, isNative, whenLoaded } from "./fetch-classes";

const nativeResponse = (...args: ConstructorParameters<typeof Response>) =>
  new (fetchClasses().Response)(...args);

/**
 * A `Response` with a text or bytes body (or none), as Hono's `c.json()` and `c.body()`
 * make them, kept as it is: the adapter hands it to the gateway where a real `Response`
 * would have built a web stream for it only to be read back. Anything else of `Response`
 * gets a real one, built on first use; other bodies (streams, blobs, forms) make a real one
 * at once. Its headers are ours (./event-headers.ts), so that such a response needs none of
 * Node's fetch classes (./fetch-classes.ts). Made what `Response` means in every module by
 * `handle()` (./index.ts), for the Lambda only (as @hono/node-server does for `pnpm start`).
 */
export class EventResponse {
  #body: string | Uint8Array | null | undefined;
  #status = 200;
  #statusText = "";
  #headers: EventHeaders | undefined;
  #native: Response | undefined;
  #used = false;

  constructor(body?: ConstructorParameters<typeof Response>[0], init?: ResponseInit) {
    const status = init?.status ?? 200;
    const kept = keptBody(body);
    if (
      kept === undefined ||
      status < 200 ||
      status > 599 ||
      (body != null && NULL_BODY.has(status))
    ) {
      this.#native = nativeResponse(body, init);
      return;
    }
    this.#body = kept;
    this.#status = status;
    this.#statusText = init?.statusText ?? "";
    this.#headers = new EventHeaders(init?.headers);
    if (typeof body === "string" && !this.#headers.has("content-type")) {
      this.#headers.set("content-type", "text/plain;charset=UTF-8");
    }
  }

  /** Ours and Node's are both `Response` to `instanceof`. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return (
      (typeof value === "object" && value !== null && #body in value) || isNative(value, "Response")
    );
  }

  static json(data: unknown, init?: ResponseInit): Response {
    return fetchClasses().Response.json(data, init);
  }
  static redirect(...args: Parameters<typeof Response.redirect>): Response {
    return fetchClasses().Response.redirect(...args);
  }
  static error(): Response {
    return fetchClasses().Response.error();
  }

  /** The body as it was given when it was never read nor left this object, else undefined. */
  static bodyOf(res: Response): string | Uint8Array | null | undefined {
    if (!(#body in res)) return undefined;
    const light = res as unknown as EventResponse;
    return light.#native || light.#used ? undefined : light.#body;
  }

  native(): Response {
    this.#native ??= nativeResponse(this.#used ? null : this.#body, {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.#headers as unknown as Headers,
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
    return this.#used || (this.#native?.bodyUsed ?? false);
  }
  /** No body, no stream: what hono's `c.res = …` asks of the response it replaces. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === null && !this.#native) return null;
    return this.native().body;
  }

  /**
   * The kept body, once (no body reads as "" every time, as fetch's does), unless a real
   * Response has taken it over (then undefined).
   */
  #read(): Promise<string | Uint8Array> | undefined {
    if (this.#used) return Promise.reject(unusable());
    if (this.#native) return undefined;
    if (this.#body === null) return Promise.resolve("");
    this.#used = true;
    return Promise.resolve(this.#body as string | Uint8Array);
  }
  text(): Promise<string> {
    return this.#read()?.then(textOf) ?? this.native().text();
  }
  json(): Promise<unknown> {
    return this.text().then(JSON.parse);
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#read()?.then(bufferOf) ?? this.native().arrayBuffer();
  }
  bytes(): Promise<Uint8Array> {
    return this.arrayBuffer().then((b) => new Uint8Array(b));
  }
  clone(): Response {
    if (this.#used) throw unusable();
    if (this.#native) return this.#native.clone();
    const copy = new EventResponse(this.#body, {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.#headers as unknown as Headers,
    });
    // The headers exactly: not the content type a text body gets when it has none.
    if (!this.#headers?.has("content-type")) copy.#headers?.delete("content-type");
    return copy as unknown as Response;
  }

  get [Symbol.toStringTag]() {
    return "Response";
  }
  get headers(): Headers {
    return this.#native?.headers ?? (this.#headers as unknown as Headers);
  }
}
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A body this class keeps (bytes copied, as fetch copies them); undefined for any other. */
function keptBody(body: ConstructorParameters<typeof Response>[0]) {
  if (body == null) return null;
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  return undefined;
}

for (const name of ["redirected", "type", "url"]) {
  Object.defineProperty(EventResponse.prototype, name, {
    get(this: EventResponse) {
      return this.native()[name as keyof Response];
    },
  });
}
for (const name of ["blob", "formData"]) {
  Object.defineProperty(EventResponse.prototype, name, {
    value(this: EventResponse) {
      if (this.bodyUsed) return Promise.reject(unusable());
      const native = this.native();
      return (native[name as keyof Response] as () => unknown).call(native);
    },
  });
}
whenLoaded(({ Response }) => Object.setPrototypeOf(EventResponse.prototype, Response.prototype));
