import { isNative, whenLoaded } from "./fetch-classes";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
/** NUL, a line break, or a character no byte holds: what a header value may not contain. */
const INVALID_VALUE = /[\0\n\r]|[^\0-\xff]/;

/** As Web IDL's ByteString takes a value: converted to a string, a symbol refused. */
function byteString(value: unknown): string {
  if (typeof value === "symbol") throw new TypeError("Headers: a symbol is not a string");
  return String(value);
}

function checkedName(name: unknown): string {
  const text = byteString(name);
  if (!TOKEN.test(text)) throw new TypeError(`Headers: invalid header name "${text}"`);
  return text.toLowerCase();
}

function checkedValue(value: unknown): string {
  const text = byteString(value).replace(EDGE_WHITESPACE, "");
  if (INVALID_VALUE.test(text)) throw new TypeError(`Headers: invalid header value "${text}"`);
  return text;
}

/**
 * The fetch standard's `Headers`, as Node's behaves: names case-insensitive and checked,
 * values trimmed and checked (TypeError otherwise), appended values joined by ", " but
 * `set-cookie` kept apart, iterated sorted by name (a snapshot, where Node's iterators read
 * the headers as they change). Ours so that a request and its response
 * need none of Node's fetch classes (./fetch-classes.ts); installed as the global `Headers`
 * by `handle()` (./index.ts). packages/functions/test/event-headers.test.ts holds it to
 * Node's on random sequences of calls.
 */
export class EventHeaders {
  #values = new Map<string, string>();
  #cookies: string[] = [];

  constructor(init?: ConstructorParameters<typeof Headers>[0]) {
    if (init === undefined) return;
    if (init === null || (typeof init !== "object" && typeof init !== "function")) {
      throw new TypeError("Headers: init must be a sequence of pairs or a record");
    }
    // Another Headers (ours or Node's) too: pair by pair, each value checked and trimmed
    // again, as Node copies one (two empty values combined, `, `, come out as `,`).
    if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
      for (const pair of init as Iterable<Iterable<unknown>>) {
        if (typeof pair !== "object" || pair === null || !(Symbol.iterator in pair)) {
          throw new TypeError("Headers: each header must be a [name, value] pair");
        }
        const entry = [...pair];
        if (entry.length !== 2) {
          throw new TypeError(`Headers: a pair has ${entry.length} items, not 2`);
        }
        this.append(entry[0] as string, entry[1] as string);
      }
      return;
    }
    for (const key of Reflect.ownKeys(init)) {
      if (!Object.prototype.propertyIsEnumerable.call(init, key)) continue;
      if (typeof key === "symbol") throw new TypeError("Headers: a header name is a symbol");
      this.append(key, (init as Record<string, string>)[key] as string);
    }
  }

  /** Ours and Node's are both `Headers` to `instanceof`. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return (
      (typeof value === "object" && value !== null && #values in value) ||
      isNative(value, "Headers")
    );
  }

  append(name: string, value: string): void {
    const key = checkedName(name);
    const text = checkedValue(value);
    const existing = this.#values.get(key);
    this.#values.set(key, existing === undefined ? text : `${existing}, ${text}`);
    if (key === "set-cookie") this.#cookies.push(text);
  }

  set(name: string, value: string): void {
    const key = checkedName(name);
    const text = checkedValue(value);
    this.#values.set(key, text);
    if (key === "set-cookie") this.#cookies = [text];
  }

  delete(name: string): void {
    const key = checkedName(name);
    this.#values.delete(key);
    if (key === "set-cookie") this.#cookies = [];
  }

  get(name: string): string | null {
    return this.#values.get(checkedName(name)) ?? null;
  }

  has(name: string): boolean {
    return this.#values.has(checkedName(name));
  }

  getSetCookie(): string[] {
    return [...this.#cookies];
  }

  /** The pairs in order: sorted by name, each `set-cookie` on its own. */
  #pairs(): [string, string][] {
    const pairs: [string, string][] = [];
    for (const name of [...this.#values.keys()].sort()) {
      if (name === "set-cookie") for (const cookie of this.#cookies) pairs.push([name, cookie]);
      else pairs.push([name, this.#values.get(name) as string]);
    }
    return pairs;
  }

  forEach(
    callback: (value: string, name: string, headers: Headers) => void,
    thisArg?: unknown,
  ): void {
    if (typeof callback !== "function") throw new TypeError("Headers.forEach: not a function");
    for (const [name, value] of this.#pairs()) {
      callback.call(thisArg, value, name, this as unknown as Headers);
    }
  }

  entries(): ArrayIterator<[string, string]> {
    return this.#pairs()[Symbol.iterator]();
  }
  keys(): ArrayIterator<string> {
    return this.#pairs()
      .map(([name]) => name)
      [Symbol.iterator]();
  }
  values(): ArrayIterator<string> {
    return this.#pairs()
      .map(([, value]) => value)
      [Symbol.iterator]();
  }
  [Symbol.iterator](): ArrayIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag]() {
    return "Headers";
  }

  [Symbol.for("nodejs.util.inspect.custom")]() {
    return Object.fromEntries(this.#pairs());
  }
}
whenLoaded(({ Headers }) => Object.setPrototypeOf(EventHeaders.prototype, Headers.prototype));
