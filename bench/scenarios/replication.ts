/**
 * What replication costs per message: the cost scenario's load (ours only) over the single
 * broker and over a local 3-node KRaft cluster (replication factor 3, min.insync.replicas 2,
 * every produce acknowledged by all in-sync replicas), measured in alternating rounds in the
 * same run. CPU per message from /proc: api, worker, PostgreSQL, and the brokers (the three
 * nodes together for the cluster); each side's figures are its median round's.
 */
import { brokerList, clusterNodes, start, stop } from "../../scripts/local-kafka.js";
import postgres from "postgres";
import { findPids } from "../lib/procstat.js";
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

/** The cluster's first node; its nodes take this port and the next five (clients and controllers). */
const CLUSTER_PORT = Number(process.env.BENCH_CLUSTER_PORT ?? 29092);

export async function replicationScenario(stack: Stack, opts: Options, log: (l: string) => void): Promise<Row[]> {
  const { started } = await start({ port: CLUSTER_PORT, brokers: 3, log: (l) => log(`replication: ${l}`) });
  const sqlClient = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  const loads: Load[] = [];
  try {
    const cluster = {
      brokers: brokerList(clusterNodes(CLUSTER_PORT, 3)),
      name: "3-node cluster",
      pids: () => findPids({ cmdline: `/cluster-${CLUSTER_PORT}/` }),
    };
    for (const kafka of [undefined, cluster]) {
      const load = new Load(await startOurs(stack, opts, { kafka }), opts, sqlClient, log);
      loads.push(load);
      log(`replication: ${load.contender.name}: warming up with ${2 * opts.messages} messages`);
      await load.start();
    }
    const measured = await alternatingRounds(loads, opts.rounds);
    const [single, replicated] = measured.map(medianRound) as [Measured, Measured];
    return figures(single, replicated, opts);
  } finally {
    for (const load of loads) await load.stop();
    await sqlClient.end();
    if (started) await stop({ port: CLUSTER_PORT, log: (l) => log(`replication: ${l}`) });
  }
}

function figures(single: Measured, replicated: Measured, opts: Options): Row[] {
  const scenario = `0b. replication, ${opts.concurrency} senders`;
  const baselineName = "single broker";
  const cpu = (m: Measured, name?: string) =>
    round(perMessage(m, name ? (m.perProcess.get(name)?.cpuMs ?? 0) : total(m)), 3);
  return [
    row({
      scenario,
      figure: "CPU, all processes",
      value: cpu(replicated),
      unit: "ms/msg",
      baselineName,
      baseline: cpu(single),
      lowerIsBetter: true,
      details: { messages: opts.messages, rounds: opts.rounds, rooms: opts.rooms },
    }),
    ...["kafka", "api", "worker", "postgresql"].map((name) =>
      row({
        scenario,
        figure: `CPU ${name === "kafka" ? "brokers" : name}`,
        value: cpu(replicated, name),
        unit: "ms/msg",
        baselineName,
        baseline: cpu(single, name),
        lowerIsBetter: true,
      }),
    ),
    row({
      scenario,
      figure: "sustained sends",
      value: round(replicated.perSecond, 0),
      unit: "msg/s",
      baselineName,
      baseline: round(single.perSecond, 0),
    }),
    ...(["p50", "p99"] as const).map((p) =>
      row({
        scenario,
        figure: `send -> delivered ${p}`,
        value: round(replicated.latency[p], 1),
        unit: "ms",
        baselineName,
        baseline: round(single.latency[p], 1),
        lowerIsBetter: true,
      }),
    ),
  ];
}
