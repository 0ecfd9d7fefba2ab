import { bufferOf, textOf, unusable } from "./body";
import { fetchClasses, isNative, whenLoaded } from "./fetch-classes";

/**
 * What Hono and our middleware read of a request, with the body as the event's bytes.
 * It is a `Request` to `instanceof` (see EventRequestClass); the rest of `Request` is a
 * real one, built on first use (after which the body is read through it).
 */
export class EventRequest {
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
    this.#native ??= new (fetchClasses().Request)(this.url, {
      method: this.method,
      headers: this.headers,
      body: this.#used ? null : this.#body,
    });
    return this.#native;
  }

  get body() {
    // No body, no stream: what hono's body limit asks of every GET.
    if (this.#body === null && !this.#native) return null;
    return this.native().body;
  }
  get bodyUsed() {
    return this.#used || (this.#native?.bodyUsed ?? false);
  }
  get [Symbol.toStringTag]() {
    return "Request";
  }
  get signal() {
    return this.native().signal;
  }

  /** The body's bytes, once, unless a real Request has taken the body over. */
  #read(): Promise<Buffer> | undefined {
    if (this.#used) return Promise.reject(unusable());
    if (this.#native) return undefined;
    this.#used = true;
    return Promise.resolve(this.#body ?? Buffer.alloc(0));
  }
  /** The real Request, for a use of the body this class does not serve itself. */
  #forBody(): Request {
    if (this.#used) throw unusable();
    return this.native();
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
whenLoaded(({ Request }) => Object.setPrototypeOf(EventRequest.prototype, Request.prototype));

/**
 * What `Request` means in code once `handle()` installed it (./fetch-classes.ts): an
 * EventRequest and Node's requests are its instances (hono's `app.request()` asks), and
 * `new Request(…)` builds Node's. Node's own global is left alone, as for Headers and
 * Response: on Node 22 touching it loads undici.
 */
type RequestArgs = ConstructorParameters<typeof Request>;
export const EventRequestClass = function Request(...args: RequestArgs) {
  return new (fetchClasses().Request)(...args);
} as unknown as typeof Request;
Object.defineProperty(EventRequestClass, Symbol.hasInstance, {
  value: (value: unknown) => value instanceof EventRequest || isNative(value, "Request"),
});
