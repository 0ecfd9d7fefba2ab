const NativeResponse = globalThis.Response;

/**
 * A `Response` with a text body (or none), as Hono's `c.json()` and `c.body()` make them,
 * kept as the text: the adapter hands that text to the gateway where a real `Response`
 * would have built a web stream for it only to be read back. Anything else of `Response`
 * gets a real one, built on first use; other bodies (streams, bytes) make a real one at
 * once. Installed as the global `Response` by `handle()` (./index.ts), for the Lambda only (as
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
    if (!(#text in res)) return undefined;
    const light = res as unknown as EventResponse;
    return light.#native ? undefined : light.#text;
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
      const native = this.native();
      return (native[name as keyof Response] as () => unknown).call(native);
    },
  });
}
Object.setPrototypeOf(EventResponse.prototype, NativeResponse.prototype);
Object.setPrototypeOf(EventResponse, NativeResponse);
