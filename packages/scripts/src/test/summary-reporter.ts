/**
 * Ends a test run with one plain line, `vitest: N passed, N failed[, N skipped]`, that CI
 * and people can read without parsing vitest's coloured summary.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    const count = { passed: 0, failed: 0, skipped: 0 };
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") count.passed++;
        else if (state === "failed") count.failed++;
        else count.skipped++;
      }
    }
    const skipped = count.skipped ? `, ${count.skipped} skipped` : "";
    process.stdout.write(`\nvitest: ${count.passed} passed, ${count.failed} failed${skipped}\n`);
  }
}
