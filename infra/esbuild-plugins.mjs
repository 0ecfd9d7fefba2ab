// esbuild plugins for the Lambda bundles: sst.aws.Function's `nodejs.plugins` loads this
// file (path relative to sst.config.ts), and packages/scripts/src/bundle.ts uses the same
// list, so the bundle tests and benchmarks exercise what Lambda loads.
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

export default [zodEnglishOnly, drizzleColumnsAsImported];
