/**
 * `npm run bench [-- --quick] [-- --only=latency,history]`: runs every scenario against the
 * real stack (Kafka, PostgreSQL, api and worker as separate processes, load from this
 * process), each next to a baseline measured in the same run, prints a table and writes the
 * figures to bench/results/.
 */
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { machine, printTable, writeResults, type Row } from "./lib/report.js";
import { startStack } from "./lib/stack.js";
import { applyPathScenario } from "./scenarios/applyPath.js";
import { costScenario, LEAN_COST } from "./scenarios/cost.js";
import { connectionsScenario } from "./scenarios/connections.js";
import { fanoutScenario } from "./scenarios/fanout.js";
import { feedScenario } from "./scenarios/feed.js";
import { historyScenario } from "./scenarios/history.js";
import { latencyScenario } from "./scenarios/latency.js";
import { persistenceScenario } from "./scenarios/persistence.js";
import { replicationScenario } from "./scenarios/replication.js";
import { scaleOutScenario } from "./scenarios/scaleOut.js";
import { scaleScenario } from "./scenarios/scale.js";
import { searchScenario } from "./scenarios/search.js";
import { threadsScenario } from "./scenarios/threads.js";
import { tracingScenario } from "./scenarios/tracing.js";
import { throughputScenario } from "./scenarios/throughput.js";

const quick = process.argv.includes("--quick");
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const started = performance.now();
const log = (line: string) =>
  console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

/** The lean scenario's subscribers also select each message's sender. */
const SENDER_SELECTED = `subscription($r: ID!) { messageAdded(roomId: $r) { id seq body clientMessageId sender { id displayName } } }`;

const sizes = quick
  ? {
      cost: { messages: 1000, rounds: 1, concurrency: 20, rooms: 20 },
      threads: { messages: 1000, rounds: 1, concurrency: 20, rooms: 20 },
      scaleOut: { messages: 1000, rounds: 1, concurrency: 25, rooms: 50, subscribersPerRoom: 3 },
      lean: {
        messages: 1000,
        rounds: 1,
        concurrency: 25,
        rooms: 50,
        subscribersPerRoom: 3,
        subscription: SENDER_SELECTED,
      },
      latency: { rates: [100, 500], seconds: 5, subscribers: 1000, rooms: 100 },
      throughput: { seconds: 5, concurrency: 32, rooms: 20 },
      fanout: { subscribers: 1000, messages: 50 },
      persistence: { commands: 5000, singleCommands: 1000, rooms: 20 },
      history: { messages: 1_000_000, queries: 200 },
      connections: { clients: 2000, rooms: 100 },
      scale: { clients: 12_000, rooms: 100 },
      feed: { users: 1000, rooms: 100, rate: 100, seconds: 5 },
      search: { messages: 1_000_000, rooms: 10, queries: 200 },
      apply: { batches: 100, rounds: 1 },
    }
  : {
      cost: { messages: 3000, rounds: 3, concurrency: 20, rooms: 20 },
      // Two loads on one stack: more rounds, as the difference sought (10%) is near the noise.
      threads: { messages: 3000, rounds: 5, concurrency: 20, rooms: 20 },
      scaleOut: { messages: 2000, rounds: 3, concurrency: 25, rooms: 50, subscribersPerRoom: 3 },
      lean: {
        messages: 3000,
        rounds: 3,
        concurrency: 25,
        rooms: 50,
        subscribersPerRoom: 3,
        subscription: SENDER_SELECTED,
      },
      latency: { rates: [100, 500, 1000], seconds: 15, subscribers: 1000, rooms: 100 },
      throughput: { seconds: 15, concurrency: 32, rooms: 20 },
      fanout: { subscribers: 5000, messages: 100 },
      persistence: { commands: 30000, singleCommands: 3000, rooms: 20 },
      history: { messages: 1_000_000, queries: 1000 },
      connections: { clients: 5000, rooms: 100 },
      scale: { clients: 50_000, rooms: 100 },
      feed: { users: 1000, rooms: 100, rate: 100, seconds: 15 },
      search: { messages: 1_000_000, rooms: 10, queries: 1000 },
      apply: { batches: 300, rounds: 3 },
    };

const scenarios: Array<[string, (stack: Awaited<ReturnType<typeof startStack>>) => Promise<Row[]>]> = [
  ["cost", (s) => costScenario(s, sizes.cost, log)],
  ["lean", (s) => costScenario(s, sizes.lean, log, LEAN_COST)],
  ["tracing", (s) => tracingScenario(s, sizes.cost, log)],
  ["replication", (s) => replicationScenario(s, sizes.cost, log)],
  ["threads", (s) => threadsScenario(s, sizes.threads, log)],
  ["scaleout", (s) => scaleOutScenario(s, sizes.scaleOut, log)],
  ["latency", (s) => latencyScenario(s, sizes.latency, log)],
  ["throughput", (s) => throughputScenario(s, sizes.throughput, log)],
  ["fanout", (s) => fanoutScenario(s, sizes.fanout, log)],
  ["persistence", (s) => persistenceScenario(s, sizes.persistence, log)],
  ["history", (s) => historyScenario(s, sizes.history, log)],
  ["connections", (s) => connectionsScenario(s, sizes.connections, log)],
  ["scale", (s) => scaleScenario(s, sizes.scale, log)],
  ["feed", (s) => feedScenario(s, sizes.feed, log)],
  ["search", (s) => searchScenario(s, sizes.search, log)],
  ["apply", (s) => applyPathScenario(s, sizes.apply, log)],
];

log(`${quick ? "quick" : "full"} run on ${JSON.stringify(machine())}`);
const stack = await startStack(log);
const rows: Row[] = [];
try {
  for (const [name, run] of scenarios) {
    if (only && !only.includes(name)) continue;
    log(`scenario ${name}`);
    const result = await run(stack);
    rows.push(...result);
    console.log(printTable(result));
  }
} finally {
  await stack.stop();
}
console.log(`\n${printTable(rows)}\n`);
const file = writeResults(
  path.join(path.dirname(fileURLToPath(import.meta.url)), "results"),
  quick ? "quick" : "full",
  rows,
);
log(`done; figures written to ${path.relative(process.cwd(), file)}`);
process.exit(0);
