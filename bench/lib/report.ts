import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { round } from "./stats.js";

/** One line of the results table: a figure next to its same-run baseline. */
export interface Row {
  scenario: string;
  figure: string;
  value: number;
  unit: string;
  baselineName: string;
  baseline: number;
  /** value / baseline, or its inverse where lower is better, so that 1.0 means "as good as the baseline". */
  ratio: number;
  target?: string;
  met?: boolean;
  details?: Record<string, unknown>;
}

export function row(r: Omit<Row, "ratio"> & { lowerIsBetter?: boolean }): Row {
  const { lowerIsBetter, ...rest } = r;
  const ratio = lowerIsBetter ? r.baseline / r.value : r.value / r.baseline;
  return { ...rest, ratio: round(ratio, 3) };
}

export function printTable(rows: Row[]): string {
  const header = ["scenario", "figure", "value", "baseline", "ratio", "target", "met"];
  const lines = rows.map((r) => [
    r.scenario,
    r.figure,
    `${round(r.value, 2)} ${r.unit}`,
    `${round(r.baseline, 2)} ${r.unit} (${r.baselineName})`,
    String(r.ratio),
    r.target ?? "",
    r.met === undefined ? "" : r.met ? "yes" : "no",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [format(header), format(widths.map((w) => "-".repeat(w))), ...lines.map(format)].join("\n");
}

export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

export function writeResults(dir: string, mode: string, rows: Row[]): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${mode}.json`);
  writeFileSync(file, JSON.stringify({ mode, at: new Date().toISOString(), machine: machine(), rows }, null, 2));
  return file;
}
