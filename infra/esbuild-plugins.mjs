// esbuild plugins for the Lambda bundles: sst.aws.Function's `nodejs.plugins` loads this
// file (path relative to sst.config.ts), and packages/scripts/src/bundle.ts uses the same
// list, so the bundle tests and benchmarks exercise what Lambda loads.
import path from "node:path";

/**
 * zod re-exports its ~50 locale tables as a namespace (`export * as locales`), which
 * esbuild cannot tree-shake: 261 KiB of the API bundle. We only use English (zod's
 * default), so the locales index is reduced to that one.
 */
export const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: `export { default as en } from "./en.js";`,
      resolveDir: path.dirname(args.path),
      loader: "js",
    }));
  },
};

export default [zodEnglishOnly];
