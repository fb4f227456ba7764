/**
 * 0. Cost per message: the same load on our stack (default configuration, event log on) and on
 * the conventional stack (Apollo + graphql-ws + PostgreSQL + Redis PubSub), each measured from
 * /proc (CPU time and read/write system calls of every process involved), PostgreSQL's WAL
 * position and its row counters. Load: `messages` sendMessage calls from `concurrency` closed
 * loops over `rooms` rooms, each room with two subscribers that must receive every message.
 * Both stacks run side by side and are measured in alternating rounds (ours, theirs, ours,
 * ...); each stack's figures are those of its median round by CPU per message.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Kafka, logLevel } from "kafkajs";
import { SignJWT } from "jose";
import postgres from "postgres";
import { consumerLag } from "../../src/kafka/lag.js";
import { topicNames } from "../../src/kafka/client.js";
import { waitUntil } from "../../scripts/app-process.js";
import { graphql, subscribe, type Subscriber } from "../lib/clients.js";
import { startBaseline } from "../lib/processes.js";
import { difference, findPids, sample, type ProcessGroup } from "../lib/procstat.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, type Stack } from "../lib/stack.js";
import { distribution, round, type Distribution } from "../lib/stats.js";

const SEND = `mutation($r: ID!, $b: String!, $c: String) { sendMessage(roomId: $r, body: $b, clientMessageId: $c) { id seq } }`;
/** Ours only (the threads scenario): the peer has no threads. */
const REPLY = `mutation($r: ID!, $b: String!, $c: String, $p: ID) { sendMessage(roomId: $r, body: $b, clientMessageId: $c, parentId: $p) { id seq } }`;
const SUBSCRIPTION = `subscription($r: ID!) { messageAdded(roomId: $r) { id seq body clientMessageId } }`;
const SUBSCRIBERS_PER_ROOM = 2;
const IDLE_SECONDS = 5;

export interface Options {
  /** Per round and stack. */
  messages: number;
  /** Measured rounds per stack, alternating; the figures are the median round's. */
  rounds: number;
  concurrency: number;
  rooms: number;
  /** Subscribers that must receive each room's messages (2 unless told). */
  subscribersPerRoom?: number;
}

export interface Target {
  url: string;
  /** Where clients connect when spread over several API processes (`url` alone unless given). */
  apiUrls?: string[];
  senderToken: string;
  readerToken: string;
  rooms: string[];
}

export interface Measured {
  acked: number;
  failed: number;
  perSecond: number;
  latency: Distribution;
  perProcess: Map<string, { cpuMs: number; syscalls: number }>;
  walBytes: number;
  rows: number;
}

/** Rows inserted, updated and deleted in the database's tables (`conv_` ones for the peer only). */
async function rowsWritten(sqlClient: postgres.Sql, conventional: boolean): Promise<number> {
  const [r] = await sqlClient`
    select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint as n from pg_stat_user_tables
    where (relname like 'conv\\_%') = ${conventional}`;
  return Number(r!.n);
}

/**
 * Backends report table statistics when idle, at most once a second: wait until the counters
 * have held still for three seconds.
 */
async function settledRows(sqlClient: postgres.Sql, conventional: boolean): Promise<number> {
  let last = -1;
  let still = 0;
  for (let i = 0; i < 40 && still < 3; i++) {
    const now = await rowsWritten(sqlClient, conventional);
    still = now === last ? still + 1 : 0;
    last = now;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return last;
}

const walPosition = async (sqlClient: postgres.Sql) =>
  (await sqlClient`select pg_current_wal_insert_lsn()::text as lsn`)[0]!.lsn as string;

/** One stack under load: its subscribers stay open across rounds; each round is measured alone. */
export class Load {
  private readonly pending = new Map<string, { started: number; remaining: number }>();
  private readonly latencies: number[] = [];
  private subscribers: Subscriber[] = [];
  private rounds = 0;
  /** Every `replyEvery`-th message of a room is a reply to its newest top-level one (0: none). */
  replyEvery = 0;
  private readonly newestTopLevel = new Map<string, string>();
  /** Client message ids are idempotency keys: each load's are its own (a scenario may run several on one stack). */
  private readonly tag = randomUUID().slice(0, 8);

  constructor(
    readonly contender: Contender,
    private readonly opts: Options,
    private readonly sqlClient: postgres.Sql,
    private readonly log: (l: string) => void,
  ) {}

  /**
   * Opens the subscribers and warms up: JIT, pools, prepared statements, consumer positions.
   * A broker the bench just started is a cold JVM: on the chat path it spent 2.3, then 1.5,
   * then 0.9 CPU-ms per message in three runs of 3,000 (raw produce/fetch traffic did not warm
   * those paths), and production brokers run warm. So: twice the measured load first, the
   * peer's too.
   */
  async start() {
    const { target } = this.contender;
    for (const r of target.rooms)
      for (let i = 0; i < this.subscribersPerRoom; i++) {
        const wsUrl = this.urlFor(this.subscribers.length).replace(/^http/, "ws");
        this.subscribers.push(
          await subscribe(wsUrl, target.readerToken, SUBSCRIPTION, { r }, (data, receivedAt) => {
            const entry = this.pending.get(data.messageAdded.clientMessageId);
            if (!entry) return;
            this.latencies.push(receivedAt - entry.started);
            if (--entry.remaining === 0) this.pending.delete(data.messageAdded.clientMessageId);
          }),
        );
      }
    await this.sendAll(2 * this.opts.messages, `${this.tag}-warm`);
    await waitUntil(() => this.pending.size === 0, 30_000, "warm-up deliveries");
    await this.contender.settle();
  }

  async measure(): Promise<Measured> {
    const { groups, conventional } = this.contender;
    this.latencies.length = 0;
    await settledRows(this.sqlClient, conventional);
    const before = {
      procs: sample(groups),
      wal: await walPosition(this.sqlClient),
      rows: await rowsWritten(this.sqlClient, conventional),
    };
    const started = performance.now();
    const { acked, failed } = await this.sendAll(this.opts.messages, `${this.tag}-round${++this.rounds}`);
    const seconds = (performance.now() - started) / 1000;
    await waitUntil(() => this.pending.size === 0, 60_000, "every message delivered to both subscribers");
    await this.contender.settle();
    const rows = (await settledRows(this.sqlClient, conventional)) - before.rows;
    const after = { procs: sample(groups), wal: await walPosition(this.sqlClient) };
    const [{ bytes }] = (await this
      .sqlClient`select pg_wal_lsn_diff(${after.wal}, ${before.wal})::bigint as bytes`) as [{ bytes: string }];
    this.log(
      `cost: ${this.contender.name} round ${this.rounds}: ${acked} acknowledged in ${round(seconds, 1)} s (${failed} failed)`,
    );
    return {
      acked,
      failed,
      perSecond: acked / seconds,
      latency: distribution(this.latencies),
      perProcess: difference(before.procs, after.procs),
      walBytes: Number(bytes),
      rows,
    };
  }

  /** CPU milliseconds per second of each of the contender's processes with no load, its subscribers connected. */
  async idle(seconds: number): Promise<Map<string, number>> {
    const before = sample(this.contender.groups);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const spent = difference(before, sample(this.contender.groups));
    return new Map([...spent].map(([name, p]) => [name, p.cpuMs / seconds]));
  }

  async stop() {
    this.subscribers.forEach((s) => s.close());
    await this.contender.stop();
  }

  private get subscribersPerRoom() {
    return this.opts.subscribersPerRoom ?? SUBSCRIBERS_PER_ROOM;
  }

  /** The API process the `n`th client (subscriber or sending loop) uses: round robin over them. */
  private urlFor(n: number) {
    const { url, apiUrls } = this.contender.target;
    return apiUrls ? apiUrls[n % apiUrls.length]! : url;
  }

  private async send(i: number, tag: string, loop: number) {
    const { target } = this.contender;
    const clientMessageId = `${tag}-${i}`;
    const room = target.rooms[i % target.rooms.length]!;
    const turn = Math.floor(i / target.rooms.length);
    const parentId = this.replyEvery > 0 && turn % this.replyEvery === 0 ? this.newestTopLevel.get(room) : undefined;
    this.pending.set(clientMessageId, { started: performance.now(), remaining: this.subscribersPerRoom });
    const variables = { r: room, b: `message ${i} of the cost scenario`, c: clientMessageId };
    try {
      const sent = await graphql<{ sendMessage: { id: string } }>(
        this.urlFor(loop),
        parentId ? REPLY : SEND,
        parentId ? { ...variables, p: parentId } : variables,
        target.senderToken,
      );
      if (!parentId) this.newestTopLevel.set(room, sent.sendMessage.id);
    } catch (error) {
      this.pending.delete(clientMessageId); // never acknowledged: no delivery to wait for
      throw error;
    }
  }

  /** `count` sends from `opts.concurrency` closed loops. */
  private async sendAll(count: number, tag: string) {
    let next = 0;
    let acked = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: this.opts.concurrency }, async (_, loop) => {
        while (next < count) {
          try {
            await this.send(next++, tag, loop);
            acked++;
          } catch {
            failed++;
          }
        }
      }),
    );
    return { acked, failed };
  }
}

/** A stack to measure: where to send, which processes to count, how to know it has caught up. */
export interface Contender {
  name: string;
  target: Target;
  groups: ProcessGroup[];
  /** Its rows are the `conv_` tables'. */
  conventional: boolean;
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** Where ours reaches Kafka: the stack's broker unless told otherwise, and which processes are its brokers. */
export interface KafkaTarget {
  brokers: string;
  name: string;
  pids(): number[];
}

export async function startOurs(
  stack: Stack,
  opts: Options,
  kafka?: KafkaTarget,
  apis = 1,
): Promise<Contender & { chat: Chat }> {
  // The default configuration: only what the bench needs to run beside itself is set.
  const brokers = kafka?.brokers ?? stack.brokers;
  const env = Chat.env(stack, {
    EVENT_LOG_ENABLED: "true",
    SUBSCRIPTION_QUEUE_LIMIT: "1000",
    KAFKA_BROKERS: brokers,
  });
  const chat = await Chat.start(env, { api: true, workers: 1, apis });
  const admin = new Kafka({ brokers: brokers.split(","), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const fixture = await createFixture(chat.url, opts.rooms);
  const topics = topicNames(env.KAFKA_TOPIC_PREFIX!);
  return {
    chat,
    name: `ours (api + worker, event log on${kafka ? `, ${kafka.name}` : ""})`,
    target: {
      url: chat.url,
      senderToken: fixture.sender.token,
      readerToken: fixture.reader.token,
      rooms: fixture.rooms,
    },
    groups: chat.processGroups(kafka?.pids),
    conventional: false,
    // Done means every consumer group, the event log's too, has committed everything.
    settle: () =>
      waitUntil(
        async () =>
          (
            await consumerLag(admin, [
              { groupId: `${env.KAFKA_TOPIC_PREFIX}chat-workers`, topic: topics.commands },
              { groupId: `${env.KAFKA_TOPIC_PREFIX}chat-event-log`, topic: topics.events },
            ])
          ).every((g) => g.lag === 0),
        60_000,
        "the workers and the event log to catch up",
      ),
    async stop() {
      await admin.disconnect();
      await chat.stop();
    },
  };
}

/** The conventional stack with `rooms` rooms, a sender and a reader in each (`conv_` tables). */
export async function startConventional(
  stack: Stack,
  opts: { rooms: number },
  sqlClient: postgres.Sql,
): Promise<Contender> {
  const secret = "conventional-stack-secret-conventional-stack";
  const server = await startBaseline("conventional.ts", {
    DATABASE_URL: stack.databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    JWT_SECRET: secret,
    NODE_ENV: "production",
  });
  const [sender, reader] = [randomUUID(), randomUUID()];
  const rooms = Array.from({ length: opts.rooms }, () => randomUUID());
  await sqlClient`insert into conv_rooms ${sqlClient(rooms.map((id) => ({ id })))}`;
  await sqlClient`insert into conv_members ${sqlClient(rooms.flatMap((r) => [sender, reader].map((u) => ({ room_id: r, user_id: u }))))}`;
  const key = new TextEncoder().encode(secret);
  const token = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime("1h").sign(key);
  return {
    name: "conventional stack (Apollo + graphql-ws + PostgreSQL + Redis PubSub)",
    target: {
      url: `${server.origin}/graphql`,
      senderToken: await token(sender),
      readerToken: await token(reader),
      rooms,
    },
    groups: [
      { name: "server", pids: () => [server.child.pid!] },
      { name: "redis", pids: () => findPids({ comm: "redis-server" }) },
      { name: "postgresql", pids: () => findPids({ comm: "postgres" }) },
    ],
    conventional: true,
    settle: async () => {},
    stop: () => server.stop(),
  };
}

export const total = (m: Measured) => [...m.perProcess.values()].reduce((s, p) => s + p.cpuMs, 0);
export const perMessage = (m: Measured, n: number) => n / m.acked;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * The round with the median CPU per message. Rounds alternate between the stacks, so a
 * stretch when the machine runs slow (it does, for minutes) falls on both rather than on one.
 */
export function medianRound(rounds: Measured[]): Measured {
  const cpu = (m: Measured) => perMessage(m, total(m));
  const middle = median(rounds.map(cpu));
  return rounds.find((m) => cpu(m) === middle)!;
}

export async function costScenario(stack: Stack, opts: Options, log: (l: string) => void): Promise<Row[]> {
  const sqlClient = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  const loads: Load[] = [];
  try {
    for (const start of [() => startOurs(stack, opts), () => startConventional(stack, opts, sqlClient)]) {
      const load = new Load(await start(), opts, sqlClient, log);
      loads.push(load);
      log(`cost: ${load.contender.name}: warming up with ${2 * opts.messages} messages`);
      await load.start();
    }
    // What the stacks cost doing nothing: polling, heartbeats, timers.
    const idle: Array<Map<string, number>> = [];
    for (const load of loads) idle.push(await load.idle(IDLE_SECONDS));
    const idleTotal = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    const measured: Measured[][] = loads.map(() => []);
    for (let r = 0; r < opts.rounds; r++)
      for (const [i, load] of loads.entries()) measured[i]!.push(await load.measure());
    const [ours, theirs] = measured.map(medianRound) as [Measured, Measured];
    const cpuPerRound = (rounds: Measured[]) => rounds.map((m) => round(perMessage(m, total(m)), 3));
    const breakdown = (m: Measured) =>
      Object.fromEntries(
        [...m.perProcess].map(([name, p]) => [
          name,
          {
            cpuMsPerMessage: round(perMessage(m, p.cpuMs), 3),
            syscallsPerMessage: round(perMessage(m, p.syscalls), 1),
          },
        ]),
      );
    const details = {
      rounds: opts.rounds,
      cpuMsPerMessageByRound: { ours: cpuPerRound(measured[0]!), conventional: cpuPerRound(measured[1]!) },
      messages: opts.messages,
      concurrency: opts.concurrency,
      rooms: opts.rooms,
      subscribersPerRoom: opts.subscribersPerRoom ?? SUBSCRIBERS_PER_ROOM,
      ours: { acked: ours.acked, failed: ours.failed, perProcess: breakdown(ours), latency: ours.latency },
      conventional: {
        acked: theirs.acked,
        failed: theirs.failed,
        perProcess: breakdown(theirs),
        latency: theirs.latency,
      },
    };
    const scenario = `0. cost per message, ${opts.concurrency} senders`;
    const peer = "conventional stack";
    const cpuOurs = perMessage(ours, total(ours));
    const cpuTheirs = perMessage(theirs, total(theirs));
    const rows: Row[] = [
      row({
        scenario,
        figure: "CPU, all processes",
        value: round(cpuOurs, 3),
        unit: "ms/msg",
        baselineName: peer,
        baseline: round(cpuTheirs, 3),
        lowerIsBetter: true,
        target: "<= 1.5x peer and <= 2.5 ms",
        met: cpuOurs <= 1.5 * cpuTheirs && cpuOurs <= 2.5,
        details,
      }),
    ];
    // Per process: ours by part, the peer's total beside it.
    for (const [name, p] of ours.perProcess)
      rows.push(
        row({
          scenario,
          figure: `CPU ${name} (syscalls ${round(perMessage(ours, p.syscalls), 1)})`,
          value: round(perMessage(ours, p.cpuMs), 3),
          unit: "ms/msg",
          baselineName: `${peer}, all`,
          baseline: round(cpuTheirs, 3),
          lowerIsBetter: true,
        }),
      );
    const walOurs = ours.walBytes / ours.acked;
    const rowsOurs = ours.rows / ours.acked;
    rows.push(
      row({
        scenario,
        figure: "PostgreSQL WAL",
        value: round(walOurs, 0),
        unit: "B/msg",
        baselineName: peer,
        baseline: round(theirs.walBytes / theirs.acked, 0),
        lowerIsBetter: true,
        target: "<= 1000 B",
        met: walOurs <= 1000,
      }),
      row({
        scenario,
        figure: "rows written",
        value: round(rowsOurs, 2),
        unit: "rows/msg",
        baselineName: peer,
        baseline: round(theirs.rows / theirs.acked, 2),
        lowerIsBetter: true,
        target: "<= 3",
        met: rowsOurs <= 3,
      }),
      row({
        scenario,
        figure: "system calls, all processes",
        value: round(
          perMessage(
            ours,
            [...ours.perProcess.values()].reduce((s, p) => s + p.syscalls, 0),
          ),
          1,
        ),
        unit: "/msg",
        baselineName: peer,
        baseline: round(
          perMessage(
            theirs,
            [...theirs.perProcess.values()].reduce((s, p) => s + p.syscalls, 0),
          ),
          1,
        ),
        lowerIsBetter: true,
      }),
      row({
        scenario,
        figure: "sustained sends",
        value: round(ours.perSecond, 0),
        unit: "msg/s",
        baselineName: peer,
        baseline: round(theirs.perSecond, 0),
        target: ">= 0.7x peer",
        met: ours.perSecond >= 0.7 * theirs.perSecond,
      }),
      row({
        scenario,
        figure: "CPU while idle, all processes",
        value: round(idleTotal(idle[0]!), 1),
        unit: "ms/s",
        baselineName: peer,
        baseline: round(idleTotal(idle[1]!), 1),
        lowerIsBetter: true,
        details: {
          ours: Object.fromEntries(idle[0]!),
          conventional: Object.fromEntries(idle[1]!),
          seconds: IDLE_SECONDS,
        },
      }),
      ...(["p50", "p99"] as const).map((p) =>
        row({
          scenario,
          figure: `send -> delivered ${p}`,
          value: round(ours.latency[p], 1),
          unit: "ms",
          baselineName: peer,
          baseline: round(theirs.latency[p], 1),
          lowerIsBetter: true,
        }),
      ),
    );
    return rows;
  } finally {
    await Promise.all(loads.map((load) => load.stop()));
    await sqlClient.end();
  }
}
