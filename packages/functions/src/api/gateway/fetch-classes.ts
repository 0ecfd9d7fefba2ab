/**
 * Node's own `Headers`, `Request` and `Response`, loaded only when something needs one.
 *
 * Node loads all three (undici, and the web streams it is built on) on the first use of any
 * of them: ~15 ms of a cold start on our machines, half of what our own modules cost. The
 * adapter's classes (./event-headers.ts, ./event-request.ts, ./event-response.ts) stand in
 * for them and ask for the real ones here only for what they do not do themselves.
 */

const NAMES = ["Headers", "Request", "Response"] as const;
type Name = (typeof NAMES)[number];

export interface FetchClasses {
  Headers: typeof Headers;
  Request: typeof Request;
  Response: typeof Response;
}

interface Registry {
  /** The globals as Node defined them (lazy getters that load undici). */
  descriptors: Partial<Record<Name, PropertyDescriptor>>;
  classes?: FetchClasses;
  onLoad: ((classes: FetchClasses) => void)[];
}

// Kept on the global object: a module graph evaluated again in the same process (as test
// runners do) must still find Node's globals, not the ones an earlier graph installed.
const REGISTRY = Symbol.for("fred.fetch-classes");
const global = globalThis as unknown as { [REGISTRY]?: Registry };
global[REGISTRY] ??= {
  descriptors: Object.fromEntries(
    NAMES.map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)]),
  ),
  onLoad: [],
};
const registry = global[REGISTRY];

/** Node's classes, loaded now if they are not yet. The globals stay as they are. */
export function fetchClasses(): FetchClasses {
  if (registry.classes) return registry.classes;
  const installed = NAMES.map((name) => Object.getOwnPropertyDescriptor(globalThis, name));
  const classes = Object.fromEntries(
    NAMES.map((name) => {
      const node = registry.descriptors[name];
      return [name, node?.get ? node.get.call(globalThis) : node?.value];
    }),
  ) as FetchClasses;
  // Node's getters have just made its classes the globals: put back what was installed.
  NAMES.forEach((name, i) => {
    const descriptor = installed[i];
    if (descriptor) Object.defineProperty(globalThis, name, descriptor);
  });
  registry.classes = classes;
  for (const hook of registry.onLoad.splice(0)) hook(classes);
  return classes;
}

/** Runs `hook` once Node's classes are loaded (at once if they are). */
export function whenLoaded(hook: (classes: FetchClasses) => void) {
  if (registry.classes) hook(registry.classes);
  else registry.onLoad.push(hook);
}

/**
 * Whether `value` is an instance of Node's class `name`, loading the class only when
 * `value` claims to be one (a real instance means Node has loaded it already).
 */
export function isNative(value: unknown, name: Name): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.prototype.toString.call(value) === `[object ${name}]` &&
    value instanceof fetchClasses()[name]
  );
}

/**
 * Makes `replacements` the globals. A global left to Node loads Node's classes on first
 * use, as before, and first runs the `whenLoaded` hooks (which make our classes instances
 * of Node's).
 */
export function installFetchClasses(replacements: Partial<FetchClasses>) {
  const data = (value: unknown): PropertyDescriptor => ({
    value,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  for (const name of NAMES) {
    const replacement = replacements[name];
    Object.defineProperty(
      globalThis,
      name,
      replacement
        ? data(replacement)
        : {
            configurable: true,
            enumerable: false,
            get() {
              const value = fetchClasses()[name];
              Object.defineProperty(globalThis, name, data(value));
              return value;
            },
            set(value: unknown) {
              Object.defineProperty(globalThis, name, data(value));
            },
          },
    );
  }
}
