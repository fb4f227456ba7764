/**
 * What threads cost per message: the cost scenario's load on our stack, plain (every message
 * top-level) and thread-heavy (a third of each room's messages are replies to its newest
 * top-level message), in alternating rounds on the same stack. A reply's event carries its
 * thread's parent and the worker reads the parents of a run's replies; thread summaries are
 * counted when read, so nothing else is written. Figures are each side's median round.
 */
import postgres from "postgres";
import { row, type Row } from "../lib/report.js";
import type { Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";
import { Load, medianRound, perMessage, startOurs, total, type Measured, type Options } from "./cost.js";

const REPLY_EVERY = 3;

export async function threadsScenario(stack: Stack, opts: Options, log: (l: string) => void): Promise<Row[]> {
  const sqlClient = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  const load = new Load(await startOurs(stack, opts), opts, sqlClient, log);
  try {
    log(`threads: warming up with ${2 * opts.messages} messages`);
    load.replyEvery = REPLY_EVERY;
    await load.start();
    const measured: Measured[][] = [[], []];
    for (let r = 0; r < opts.rounds; r++)
      for (const [i, replyEvery] of [0, REPLY_EVERY].entries()) {
        load.replyEvery = replyEvery;
        measured[i]!.push(await load.measure());
      }
    const [plain, threaded] = measured.map(medianRound) as [Measured, Measured];
    const byRound = measured.map((rounds) => rounds.map((m) => round(perMessage(m, total(m)), 3)));
    log(`threads: CPU ms/msg by round: plain ${byRound[0]!.join(", ")}; threaded ${byRound[1]!.join(", ")}`);
    return figures(plain, threaded, opts, byRound);
  } finally {
    await load.stop();
    await sqlClient.end();
  }
}

function figures(plain: Measured, threaded: Measured, opts: Options, byRound: number[][]): Row[] {
  const scenario = `0c. threads (1 in ${REPLY_EVERY} a reply), ${opts.concurrency} senders`;
  const baselineName = "plain messages";
  const cpu = (m: Measured, name?: string) => perMessage(m, name ? (m.perProcess.get(name)?.cpuMs ?? 0) : total(m));
  return [
    row({
      scenario,
      figure: "CPU, all processes",
      value: round(cpu(threaded), 3),
      unit: "ms/msg",
      baselineName,
      baseline: round(cpu(plain), 3),
      lowerIsBetter: true,
      target: "<= 1.1x plain",
      met: cpu(threaded) <= 1.1 * cpu(plain),
      details: {
        messages: opts.messages,
        rounds: opts.rounds,
        rooms: opts.rooms,
        replyEvery: REPLY_EVERY,
        cpuMsPerMessageByRound: { plain: byRound[0], threaded: byRound[1] },
      },
    }),
    ...["api", "worker", "kafka", "postgresql"].map((name) =>
      row({
        scenario,
        figure: `CPU ${name}`,
        value: round(cpu(threaded, name), 3),
        unit: "ms/msg",
        baselineName,
        baseline: round(cpu(plain, name), 3),
        lowerIsBetter: true,
      }),
    ),
    row({
      scenario,
      figure: "PostgreSQL WAL",
      value: round(threaded.walBytes / threaded.acked, 0),
      unit: "B/msg",
      baselineName,
      baseline: round(plain.walBytes / plain.acked, 0),
      lowerIsBetter: true,
    }),
    row({
      scenario,
      figure: "send -> delivered p50",
      value: round(threaded.latency.p50, 1),
      unit: "ms",
      baselineName,
      baseline: round(plain.latency.p50, 1),
      lowerIsBetter: true,
    }),
  ];
}
