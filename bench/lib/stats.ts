/** Small statistics and Markdown helpers shared by the figures. */

export interface Summary {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted samples (p in 0..100). */
function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
  };
}

export const median = (samples: number[]) => summarize(samples).median;

/** Milliseconds with a precision that suits their size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "–";
}

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function int(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** A GitHub-flavoured Markdown table; columns after the first are right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const align = header.map((_, i) => (i === 0 ? "---" : "---:"));
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(" | ")} |`;
  return [line(header), line(align), ...rows.map(line)].join("\n");
}

/** A target checked in this run: shown in the summary table and in the report. */
export interface Target {
  figure: string;
  name: string;
  measured: string;
  goal: string;
  met: boolean;
  /** Soft targets are reported but do not count as "missed" (e.g. "should not grow"). */
  note?: string;
}

export interface Section {
  title: string;
  markdown: string;
  targets: Target[];
  /** Where a target is missed: what limits it, with the evidence this run measured. */
  findings: string[];
}

/** Times one async call in milliseconds. */
export async function time(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}
