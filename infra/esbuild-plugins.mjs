// esbuild plugins for the Lambda bundles: sst.aws.Function's `nodejs.plugins` loads this
// file (path relative to sst.config.ts), and packages/scripts/src/bundle.ts uses the same
// list, so the bundle tests and benchmarks exercise what Lambda loads.
import { isBuiltin } from "node:module";
import path from "node:path";

/**
 * `build.onLoad` for the files whose path matches `pattern`. SST's bridge to these plugins
 * (.sst/platform/functions/nodejs-runtime/plugin.mjs, sst 3.19) tests a filter against
 * the message it received rather than the file's path, that is against the string
 * "undefined", while esbuild tests it against the path. So the filter lets both through
 * (no real file's path is "undefined") and the callback checks the path itself.
 * packages/functions/test/bundle.test.ts holds both ways to the same loads.
 */
function onLoadFile(build, pattern, load) {
  const filter = new RegExp(`(?:${pattern.source})|^undefined$`);
  build.onLoad({ filter }, (args) => (pattern.test(args.path) ? load(args) : undefined));
}

/**
 * zod re-exports its ~50 locale tables as a namespace (`export * as locales`), which
 * esbuild cannot tree-shake: 261 KiB of the API bundle. We only use English (zod's
 * default), so the locales index is reduced to that one.
 */
export const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    onLoadFile(build, /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/, (args) => ({
      contents: `export { default as en } from "./en.js";`,
      resolveDir: path.dirname(args.path),
      loader: "js",
    }));
  },
};

/**
 * drizzle's `pgTable` imports every Postgres column type (32 of them: geometry, vectors,
 * network addresses…) for its callback form, `pgTable("t", (t) => ({ … }))`, so all of them
 * load with every cold start. Our tables use the object form and import the column types
 * they use, so the callback's builders are left out; a table written in the callback form
 * fails at import, and with it every test that touches the database.
 */
export const drizzleColumnsAsImported = {
  name: "drizzle-columns-as-imported",
  setup(build) {
    onLoadFile(build, /[\\/]drizzle-orm[\\/]pg-core[\\/]columns[\\/]all\.js$/, () => ({
      contents: `export function getPgColumnBuilders() {
  throw new Error("pgTable's callback form is not bundled (infra/esbuild-plugins.mjs): import the column types and pass an object");
}`,
      loader: "js",
    }));
  },
};

const BUILTIN = "node-builtin";
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** Joins a built-in's name and the file importing it into one virtual module's path. */
const FOR = "?for=";

/**
 * Node's built-in modules as CommonJS objects, not ESM facades. An `import … from "fs"`
 * makes Node build the module's ESM facade, which reads every export once and so runs
 * every lazy getter: `fs` loads fs/promises (and readline with it), `crypto` webcrypto,
 * `process` the diagnostic report, and so on. postgres.js's imports alone loaded ~100 of
 * Node's internal modules at each cold start this way. Instead, each file's imports of a
 * built-in are answered by a module of that file's own, which takes
 * `process.getBuiltinModule()`'s object and exports the names the file uses (the rest are
 * pure, so esbuild drops them). Being the file's own, it lands in that file's chunk: a
 * getter runs when the code that uses it loads (the S3 SDK's `fs.promises` on the first
 * presign), as `require("fs").promises` would.
 */
export const builtinsWithoutFacades = {
  name: "builtins-without-facades",
  setup(build) {
    // Both callbacks test their arguments themselves, not through `filter`: see onLoadFile.
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== "import-statement" || args.namespace !== "file") return undefined;
      if (!isBuiltin(args.path)) return undefined;
      const name = args.path.startsWith("node:") ? args.path : `node:${args.path}`;
      return { path: `${name}${FOR}${args.importer}`, namespace: BUILTIN, sideEffects: false };
    });
    // esbuild then calls it for these modules only; SST's bridge, for every file.
    build.onLoad({ filter: /.*/, namespace: BUILTIN }, (args) => {
      if (args.namespace !== BUILTIN) return undefined;
      const name = args.path.slice(0, args.path.indexOf(FOR));
      const keys = Object.keys(process.getBuiltinModule(name));
      const lines = [
        `const builtin = globalThis.process.getBuiltinModule(${JSON.stringify(name)});`,
        "export default builtin;",
        ...keys
          .filter((key) => IDENTIFIER.test(key) && key !== "default")
          .map((key) => `export const ${key} = /* @__PURE__ */ (() => builtin.${key})();`),
      ];
      return { contents: lines.join("\n"), loader: "js" };
    });
  },
};

export default [zodEnglishOnly, drizzleColumnsAsImported, builtinsWithoutFacades];
