import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "infra/**/*.test.ts"],
    globalSetup: ["packages/scripts/src/test/global-setup.ts"],
    setupFiles: ["packages/scripts/src/test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default", "./packages/scripts/src/test/summary-reporter.ts"],
  },
});
