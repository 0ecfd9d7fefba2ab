import type { Plugin } from "esbuild";

export declare const zodEnglishOnly: Plugin;
export declare const drizzleColumnsAsImported: Plugin;
export declare const builtinsWithoutFacades: Plugin;
declare const plugins: Plugin[];
export default plugins;
