/**
 * 0f. What tracing costs: the cost scenario's load (one sender, two subscribers per room) on
 * two of our stacks side by side, one with tracing off (the default) and one exporting every
 * trace (no sampling: the worst case) to a local Zipkin, measured in alternating rounds from
 * /proc. Zipkin's own CPU is the collector's, not counted.
 */
import postgres from "postgres";
import { start as startZipkin, stop as stopZipkin } from "../../scripts/local-zipkin.js";
import { row, type Row } from "../lib/report.js";
import type { Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";
import {
  Load,
  medianRound,
  perMessage,
  startOurs,
  total,
  type Measured,
  type Options,
  alternatingRounds,
} from "./cost.js";

export async function tracingScenario(stack: Stack, opts: Options, log: (l: string) => void): Promise<Row[]> {
  const zipkin = await startZipkin({ log: (line) => log(`tracing: ${line}`) });
  const sqlClient = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  const tracingOn = {
    name: "tracing on, every trace to Zipkin",
    values: { OTEL_EXPORTER_ZIPKIN_ENDPOINT: zipkin.spans, OTEL_TRACES_SAMPLER: "always_on" },
  };
  const loads: Load[] = [];
  try {
    for (const env of [undefined, tracingOn]) {
      const load = new Load(await startOurs(stack, opts, { env }), opts, sqlClient, log);
      loads.push(load);
      log(`tracing: ${load.contender.name}: warming up with ${2 * opts.messages} messages`);
      await load.start();
    }
    const measured = await alternatingRounds(loads, opts.rounds);
    const [off, on] = measured.map(medianRound) as [Measured, Measured];
    const scenario = `0f. tracing off / on, ${opts.concurrency} concurrent sends`;
    const cpu = (m: Measured) => perMessage(m, total(m));
    const byRound = (rounds: Measured[]) => rounds.map((m) => round(cpu(m), 3));
    const rows: Row[] = [
      row({
        scenario,
        figure: "CPU, all processes, tracing on",
        value: round(cpu(on), 3),
        unit: "ms/msg",
        baselineName: "tracing off",
        baseline: round(cpu(off), 3),
        lowerIsBetter: true,
        details: { cpuMsPerMessageByRound: { off: byRound(measured[0]!), on: byRound(measured[1]!) } },
      }),
    ];
    for (const [name, p] of on.perProcess)
      rows.push(
        row({
          scenario,
          figure: `CPU ${name}, tracing on`,
          value: round(perMessage(on, p.cpuMs), 3),
          unit: "ms/msg",
          baselineName: "tracing off",
          baseline: round(perMessage(off, off.perProcess.get(name)?.cpuMs ?? 0), 3),
          lowerIsBetter: true,
        }),
      );
    for (const p of ["p50", "p99"] as const)
      rows.push(
        row({
          scenario,
          figure: `send -> delivered ${p}, tracing on`,
          value: round(on.latency[p], 1),
          unit: "ms",
          baselineName: "tracing off",
          baseline: round(off.latency[p], 1),
          lowerIsBetter: true,
        }),
      );
    return rows;
  } finally {
    await Promise.all(loads.map((load) => load.stop()));
    await sqlClient.end();
    if (zipkin.started) await stopZipkin({ log: (line) => log(`tracing: ${line}`) });
  }
}
