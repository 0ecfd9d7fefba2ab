/**
 * Node's own `Headers`, `Request` and `Response`, loaded only when something needs one.
 *
 * Node loads all three (undici, and the web streams it is built on) on the first use of any
 * of them: ~15 ms of a cold start on our machines, half of what our own modules cost. The
 * adapter's classes (./event-headers.ts, ./event-request.ts, ./event-response.ts) stand in
 * for them and ask for the real ones here only for what they do not do themselves.
 */

import { runInThisContext } from "node:vm";

const NAMES = ["Headers", "Request", "Response"] as const;
type Name = (typeof NAMES)[number];

export interface FetchClasses {
  Headers: typeof Headers;
  Request: typeof Request;
  Response: typeof Response;
}

interface Registry {
  classes?: FetchClasses;
  onLoad: ((classes: FetchClasses) => void)[];
  /** What the names stand for in code (see `installFetchClasses`), once any is installed. */
  installed: Partial<FetchClasses>;
}

// Kept on the global object: a module graph evaluated again in the same process (as test
// runners do) must find what an earlier graph declared.
const REGISTRY = Symbol.for("fred.fetch-classes");
const global = globalThis as unknown as { [REGISTRY]?: Registry };
global[REGISTRY] ??= { onLoad: [], installed: {} };
const registry = global[REGISTRY];

/** Node's classes, loaded now if they are not yet. */
export function fetchClasses(): FetchClasses {
  if (registry.classes) return registry.classes;
  // The global object's properties stay Node's (installFetchClasses never touches them):
  // reading them is what loads Node's classes.
  const classes: FetchClasses = {
    Headers: globalThis.Headers,
    Request: globalThis.Request,
    Response: globalThis.Response,
  };
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
 * Makes `replacements` what the names `Headers`, `Response` (and `Request`) mean in every
 * module's code, hono's included, as global lexical bindings (a `let` at the top of a
 * script, which every module's free use of the name finds before the global object's
 * property). The global object's properties are left as Node made them: on Node 22, where
 * Lambda runs us, they are lazy values that reading the property descriptor or redefining
 * the property loads (undici, web streams and zlib: ~20 ms of a cold start), so they are
 * not touched until `fetchClasses()` needs them. Installing again reassigns the bindings.
 */
export function installFetchClasses(replacements: Partial<FetchClasses>) {
  for (const name of NAMES) {
    if (!replacements[name]) continue;
    const declared = name in registry.installed;
    registry.installed[name] = replacements[name] as never;
    const value = `globalThis[Symbol.for("fred.fetch-classes")].installed.${name}`;
    runInThisContext(declared ? `${name} = ${value};` : `let ${name} = ${value};`);
  }
}

/** What `installFetchClasses` made the names stand for (none until it was called). */
export function installedFetchClasses(): Partial<FetchClasses> {
  return { ...registry.installed };
}
