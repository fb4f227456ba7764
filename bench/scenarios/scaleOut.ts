/**
 * 0d. Scale-out: what an added API process costs. The cost scenario's load (closed loops of
 * sendMessage, every room's subscribers receiving every message) on one worker and 1 to 4 API
 * processes: every client on the first of 4 (the other 3 with no clients at all), the clients
 * spread over 4, over 2, and on 1 (the others stopped). A round measures every configuration
 * once, in the opposite order to the round before: the broker keeps getting cheaper for minutes
 * after it starts (a JVM compiling), and configurations measured one after the other had the
 * first ones pay for that (the broker's share fell by position in three runs of four). Each
 * configuration's round opens its own subscribers, warms up with twice the measured load, and
 * is measured per process from /proc; the figures are each configuration's median round.
 */
import postgres from "postgres";
import { row, type Row } from "../lib/report.js";
import type { Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";
import { waitUntil } from "../../scripts/app-process.js";
import {
  Load,
  medianRound,
  perMessage,
  startOurs,
  total,
  type Contender,
  type Measured,
  type Options,
} from "./cost.js";

const IDLE_SECONDS = 10;

/** Our stack with its API processes, as startOurs returns it. */
type Ours = Awaited<ReturnType<typeof startOurs>>;

interface Configuration {
  name: string;
  /** API processes running. */
  apis: number;
  /** Of those, how many have clients (the first ones). */
  serving: number;
}

const CONFIGURATIONS: Configuration[] = [
  { name: "1 API serving, 3 without clients", apis: 4, serving: 1 },
  { name: "4 APIs, clients spread", apis: 4, serving: 4 },
  { name: "2 APIs, clients spread", apis: 2, serving: 2 },
  { name: "1 API", apis: 1, serving: 1 },
];

interface Result {
  configuration: Configuration;
  measured: Measured;
  cpuByRound: number[];
  idle: Map<string, number>;
}

export async function scaleOutScenario(stack: Stack, opts: Options, log: (l: string) => void): Promise<Row[]> {
  const sqlClient = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  const base = await startOurs(stack, opts, { apis: 4 });
  const rounds = new Map<Configuration, Round[]>(CONFIGURATIONS.map((c) => [c, []]));
  try {
    // A broker and processes the bench just started are cold (JVM, JIT): warmed up on a load
    // of their own first (through the first API: the others stay without clients).
    await warmUp(base, opts, sqlClient, log);
    for (let r = 0; r < opts.rounds; r++) {
      const order = r % 2 === 0 ? CONFIGURATIONS : [...CONFIGURATIONS].reverse();
      for (const configuration of order)
        rounds.get(configuration)!.push(await measureRound(base, configuration, opts, sqlClient, log));
    }
  } finally {
    await base.stop();
    await sqlClient.end();
  }
  return figures(
    CONFIGURATIONS.map((configuration) => summary(configuration, rounds.get(configuration)!, log)),
    opts,
  );
}

async function warmUp(base: Ours, opts: Options, sqlClient: postgres.Sql, log: (l: string) => void) {
  const apiUrls = [base.chat.apis[0]!.url];
  const load = new Load({ ...base, target: { ...base.target, apiUrls }, stop: async () => {} }, opts, sqlClient, log);
  log(`scale-out: warming the stack up with ${2 * opts.messages} messages`);
  await load.start();
  await load.stop();
}

interface Round {
  measured: Measured;
  idle: Map<string, number>;
}

async function measureRound(
  base: Ours,
  configuration: Configuration,
  opts: Options,
  sqlClient: postgres.Sql,
  log: (l: string) => void,
): Promise<Round> {
  const { chat } = base;
  await chat.setApis(configuration.apis);
  const contender: Contender = {
    ...base,
    name: `ours, ${configuration.name}`,
    target: { ...base.target, apiUrls: chat.apis.slice(0, configuration.serving).map((api) => api.url) },
    groups: chat.processGroupsPerApi(),
    stop: async () => {}, // the stack outlives each configuration's clients
  };
  const load = new Load(contender, opts, sqlClient, log);
  try {
    log(`scale-out: ${configuration.name}: warming up with ${2 * opts.messages} messages`);
    await load.start();
    // APIs without clients are measured paused, as they run: one that had clients in the
    // round before pauses API_IDLE_PAUSE_MS after it lost them.
    await waitUntil(
      async () => {
        const gauges = chat.apis.slice(configuration.serving).map((api) => api.metric("chat_event_consumer_paused"));
        return (await Promise.all(gauges)).every((gauge) => gauge === 1);
      },
      60_000,
      "the APIs without clients to pause their event consumers",
    );
    const idle = await load.idle(IDLE_SECONDS);
    return { measured: await load.measure(), idle };
  } finally {
    await load.stop();
  }
}

function summary(configuration: Configuration, rounds: Round[], log: (l: string) => void): Result {
  const cpuByRound = rounds.map(({ measured }) => round(perMessage(measured, total(measured)), 3));
  log(`scale-out: ${configuration.name}: CPU ms/msg by round ${cpuByRound.join(", ")}`);
  const measured = medianRound(rounds.map((r) => r.measured));
  const idle = rounds.find((r) => r.measured === measured)!.idle;
  return { configuration, measured, cpuByRound, idle };
}

const cpuOf = (m: Measured, names: string[]) =>
  perMessage(
    m,
    names.reduce((sum, name) => sum + (m.perProcess.get(name)?.cpuMs ?? 0), 0),
  );
const apiNames = (c: Configuration, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `api${from + i}`).filter((_, i) => from + i < c.apis);
const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

function figures(results: Result[], opts: Options): Row[] {
  const scenario = `0d. scale-out, ${opts.rooms} rooms x ${opts.subscribersPerRoom ?? 2} subscribers, ${opts.concurrency} senders`;
  const [idle3, spread4, spread2, single] = results as [Result, Result, Result, Result];
  const whole = (r: Result) => perMessage(r.measured, total(r.measured));
  const details = Object.fromEntries(
    results.map((r) => [
      r.configuration.name,
      {
        cpuMsPerMessageByRound: r.cpuByRound,
        perProcessCpuMsPerMessage: Object.fromEntries(
          [...r.measured.perProcess].map(([name, p]) => [name, round(perMessage(r.measured, p.cpuMs), 3)]),
        ),
        idleCpuMsPerSecond: Object.fromEntries([...r.idle].map(([name, ms]) => [name, round(ms, 1)])),
        latency: r.measured.latency,
      },
    ]),
  );
  const withoutClients = cpuOf(idle3.measured, apiNames(idle3.configuration, 1, 4)) / 3;
  return [
    row({
      scenario,
      figure: "CPU, all processes, 4 APIs (clients spread)",
      value: round(whole(spread4), 3),
      unit: "ms/msg",
      baselineName: "1 API",
      baseline: round(whole(single), 3),
      lowerIsBetter: true,
      target: "<= 1.15x 1 API",
      met: whole(spread4) <= 1.15 * whole(single),
      details: { messages: opts.messages, rounds: opts.rounds, ...details },
    }),
    row({
      scenario,
      figure: "CPU, all processes, 2 APIs (clients spread)",
      value: round(whole(spread2), 3),
      unit: "ms/msg",
      baselineName: "1 API",
      baseline: round(whole(single), 3),
      lowerIsBetter: true,
    }),
    row({
      scenario,
      figure: "CPU of the 4 APIs / of the 1 API",
      value: round(cpuOf(spread4.measured, apiNames(spread4.configuration, 0, 4)), 3),
      unit: "ms/msg",
      baselineName: "1 API",
      baseline: round(cpuOf(single.measured, ["api0"]), 3),
      lowerIsBetter: true,
    }),
    row({
      scenario,
      figure: "CPU of an API process with no clients",
      value: round(withoutClients, 4),
      unit: "ms/msg",
      baselineName: "the API serving them",
      baseline: round(cpuOf(idle3.measured, ["api0"]), 3),
      lowerIsBetter: true,
      target: "<= 0.02 ms",
      met: withoutClients <= 0.02,
    }),
    row({
      scenario,
      figure: "Kafka broker, 4 APIs / 1 API",
      value: round(cpuOf(spread4.measured, ["kafka"]), 3),
      unit: "ms/msg",
      baselineName: "1 API",
      baseline: round(cpuOf(single.measured, ["kafka"]), 3),
      lowerIsBetter: true,
    }),
    row({
      scenario,
      figure: "CPU while idle, all processes, 4 APIs / 1 API",
      value: round(sum(spread4.idle.values()), 1),
      unit: "ms/s",
      baselineName: "1 API",
      baseline: round(sum(single.idle.values()), 1),
      lowerIsBetter: true,
      target: "<= 10 ms/s (1 API)",
      met: sum(single.idle.values()) <= 10,
    }),
  ];
}
