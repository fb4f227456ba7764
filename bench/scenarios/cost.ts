/**
 * 0. Cost per message: the same load on our stack (default configuration, event log on) and on
 * a peer (bench/baselines/: the conventional stack, Apollo + graphql-ws + Drizzle + PostgreSQL +
 * Redis PubSub, or for 0e the lean peer), each measured from /proc (CPU time and read/write
 * system calls of every process involved), PostgreSQL's WAL position and its row counters.
 * Load: `messages` sendMessage calls from `concurrency` closed loops over `rooms` rooms, each
 * room with `subscribersPerRoom` subscribers (2) that must receive every message.
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
  /** The subscription each subscriber opens (`$r` is the room); it must select `messageAdded.clientMessageId`. */
  subscription?: string;
}

export interface Target {
  url: string;
  /** Room i's own sender, when each room has one (else `senderToken` sends to every room). */
  senderTokens?: string[];
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

/** A peer's tables start with this; ours with neither. */
const PEER_TABLE_PREFIXES = ["conv_", "lean_"];

/** Rows inserted, updated and deleted in the tables whose names start with `prefix` (null: ours). */
async function rowsWritten(sqlClient: postgres.Sql, prefix: string | null): Promise<number> {
  const tables = await sqlClient<{ relname: string; n: string }[]>`
    select relname, (n_tup_ins + n_tup_upd + n_tup_del)::bigint as n from pg_stat_user_tables`;
  const mine = (name: string) =>
    prefix ? name.startsWith(prefix) : !PEER_TABLE_PREFIXES.some((peer) => name.startsWith(peer));
  return tables.filter((t) => mine(t.relname)).reduce((sum, t) => sum + Number(t.n), 0);
}

/**
 * Backends report table statistics when idle, but one that reported less than a second before
 * going idle reports the rest only 10 s later (PostgreSQL 15's PGSTAT_IDLE_INTERVAL): wait
 * until the counters have held still for eleven seconds (with three, a quick round counted
 * 0.08 rows per message).
 */
async function settledRows(sqlClient: postgres.Sql, prefix: string | null): Promise<number> {
  let last = -1;
  let still = 0;
  for (let i = 0; i < 60 && still < 11; i++) {
    const now = await rowsWritten(sqlClient, prefix);
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
          await subscribe(
            wsUrl,
            target.readerToken,
            this.opts.subscription ?? SUBSCRIPTION,
            { r },
            (data, receivedAt) => {
              const entry = this.pending.get(data.messageAdded.clientMessageId);
              if (!entry) return;
              this.latencies.push(receivedAt - entry.started);
              if (--entry.remaining === 0) this.pending.delete(data.messageAdded.clientMessageId);
            },
          ),
        );
      }
    await this.sendAll(2 * this.opts.messages, `${this.tag}-warm`);
    await waitUntil(() => this.pending.size === 0, 30_000, "warm-up deliveries");
    await this.contender.settle();
  }

  async measure(): Promise<Measured> {
    const { groups, tablePrefix } = this.contender;
    this.latencies.length = 0;
    await settledRows(this.sqlClient, tablePrefix);
    const before = {
      procs: sample(groups),
      wal: await walPosition(this.sqlClient),
      rows: await rowsWritten(this.sqlClient, tablePrefix),
    };
    const started = performance.now();
    const { acked, failed } = await this.sendAll(this.opts.messages, `${this.tag}-round${++this.rounds}`);
    const seconds = (performance.now() - started) / 1000;
    await waitUntil(() => this.pending.size === 0, 60_000, "every message delivered to every subscriber");
    await this.contender.settle();
    // CPU and WAL before the row counters settle: that wait is idle time, not the round's.
    const after = { procs: sample(groups), wal: await walPosition(this.sqlClient) };
    const rows = (await settledRows(this.sqlClient, tablePrefix)) - before.rows;
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
    const roomIndex = i % target.rooms.length;
    const room = target.rooms[roomIndex]!;
    const turn = Math.floor(i / target.rooms.length);
    const parentId = this.replyEvery > 0 && turn % this.replyEvery === 0 ? this.newestTopLevel.get(room) : undefined;
    this.pending.set(clientMessageId, { started: performance.now(), remaining: this.subscribersPerRoom });
    const variables = { r: room, b: `message ${i} of the cost scenario`, c: clientMessageId };
    try {
      const sent = await graphql<{ sendMessage: { id: string } }>(
        this.urlFor(loop),
        parentId ? REPLY : SEND,
        parentId ? { ...variables, p: parentId } : variables,
        target.senderTokens?.[roomIndex] ?? target.senderToken,
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
  /** The prefix of its tables, for a peer (null: ours, the tables of neither peer). */
  tablePrefix: string | null;
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** Where ours reaches Kafka: the stack's broker unless told otherwise, and which processes are its brokers. */
export interface KafkaTarget {
  brokers: string;
  name: string;
  pids(): number[];
}

export interface OursOptions {
  /** Another Kafka than the stack's broker. */
  kafka?: KafkaTarget;
  /** API processes (1 unless told); clients use the first unless a scenario spreads them. */
  apis?: number;
  /** Each room its own sender. */
  senderPerRoom?: boolean;
  /** Settings on top of the default configuration, named in the contender's name. */
  env?: { name: string; values: Record<string, string> };
}

export async function startOurs(
  stack: Stack,
  opts: Options,
  { kafka, apis = 1, senderPerRoom = false, env: extra }: OursOptions = {},
): Promise<Contender & { chat: Chat }> {
  // The default configuration: only what the bench needs to run beside itself is set.
  const brokers = kafka?.brokers ?? stack.brokers;
  const env = Chat.env(stack, {
    EVENT_LOG_ENABLED: "true",
    SUBSCRIPTION_QUEUE_LIMIT: "1000",
    KAFKA_BROKERS: brokers,
    ...extra?.values,
  });
  const chat = await Chat.start(env, { api: true, workers: 1, apis });
  const admin = new Kafka({ brokers: brokers.split(","), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const fixture = await createFixture(chat.url, opts.rooms, { senderPerRoom });
  const topics = topicNames(env.KAFKA_TOPIC_PREFIX!);
  return {
    chat,
    name: `ours (api + worker, event log on${kafka ? `, ${kafka.name}` : ""}${extra ? `, ${extra.name}` : ""})`,
    target: {
      url: chat.url,
      senderToken: fixture.sender.token,
      senderTokens: fixture.roomSenders?.map((s) => s.token),
      readerToken: fixture.reader.token,
      rooms: fixture.rooms,
    },
    groups: chat.processGroups(kafka?.pids),
    tablePrefix: null,
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

const PEERS = {
  conventional: {
    script: "conventional.ts",
    tablePrefix: "conv_",
    name: "conventional stack (Apollo + graphql-ws + Drizzle + PostgreSQL + Redis PubSub)",
  },
  lean: {
    script: "lean.ts",
    tablePrefix: "lean_",
    name: "lean peer (Apollo + graphql-ws + one SQL statement through postgres.js + Redis PubSub)",
  },
};

/**
 * A peer (bench/baselines/) with `rooms` rooms and a reader in each; one sender in all of
 * them, or with `senderPerRoom` a sender of each room's own. Its tables are filled directly.
 */
export async function startPeer(
  kind: keyof typeof PEERS,
  stack: Stack,
  opts: { rooms: number },
  sqlClient: postgres.Sql,
  { senderPerRoom = false } = {},
): Promise<Contender> {
  const peer = PEERS[kind];
  const secret = "conventional-stack-secret-conventional-stack";
  const server = await startBaseline(peer.script, {
    DATABASE_URL: stack.databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    JWT_SECRET: secret,
    NODE_ENV: "production",
  });
  const [sender, reader] = [randomUUID(), randomUUID()];
  const rooms = Array.from({ length: opts.rooms }, () => randomUUID());
  const roomSenders = rooms.map(() => (senderPerRoom ? randomUUID() : sender));
  const members = rooms.flatMap((r, i) => [roomSenders[i]!, reader].map((u) => ({ room_id: r, user_id: u })));
  await sqlClient`insert into ${sqlClient(`${peer.tablePrefix}rooms`)} ${sqlClient(rooms.map((id) => ({ id })))}`;
  await sqlClient`insert into ${sqlClient(`${peer.tablePrefix}members`)} ${sqlClient(members)}`;
  if (kind === "lean") {
    const users = [...new Set([sender, reader, ...roomSenders])].map((id) => ({ id, display_name: "Bench" }));
    await sqlClient`insert into lean_users ${sqlClient(users)}`;
  }
  const key = new TextEncoder().encode(secret);
  const token = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime("1h").sign(key);
  return {
    name: peer.name,
    target: {
      url: `${server.origin}/graphql`,
      senderToken: await token(sender),
      ...(senderPerRoom ? { senderTokens: await Promise.all(roomSenders.map(token)) } : {}),
      readerToken: await token(reader),
      rooms,
    },
    groups: [
      { name: "server", pids: () => [server.child.pid!] },
      { name: "redis", pids: () => findPids({ comm: "redis-server" }) },
      { name: "postgresql", pids: () => findPids({ comm: "postgres" }) },
    ],
    tablePrefix: peer.tablePrefix,
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

/** Each load's rounds, measured alternately (one round of each, then again). */
export async function alternatingRounds(loads: Load[], rounds: number): Promise<Measured[][]> {
  const measured: Measured[][] = loads.map(() => []);
  for (let r = 0; r < rounds; r++) for (const [i, load] of loads.entries()) measured[i]!.push(await load.measure());
  return measured;
}

/** Which peer the cost scenario measures ours against, on which shape of load. */
export interface CostVariant {
  scenario: string;
  peer: keyof typeof PEERS;
  /** Each room its own sender (else one sender sends to every room). */
  senderPerRoom: boolean;
  /** CPU per message, all processes: the goal and whether it was met. */
  cpuTarget: { text: string; met(ours: number, peer: number): boolean };
}

/** The bench's own shape: one sender, two subscribers per room, the conventional peer. */
export const CONVENTIONAL_COST: CostVariant = {
  scenario: "0. cost per message",
  peer: "conventional",
  senderPerRoom: false,
  cpuTarget: { text: "<= 1.5x peer and <= 2.5 ms", met: (ours, peer) => ours <= 1.5 * peer && ours <= 2.5 },
};

/** A shape that does not flatter: a sender per room, the sender selected, the leanest peer. */
export const LEAN_COST: CostVariant = {
  scenario: "0e. cost per message, a sender per room, sender selected",
  peer: "lean",
  senderPerRoom: true,
  cpuTarget: { text: "<= 1.0x lean peer", met: (ours, peer) => ours <= peer },
};

export async function costScenario(
  stack: Stack,
  opts: Options,
  log: (l: string) => void,
  variant: CostVariant = CONVENTIONAL_COST,
): Promise<Row[]> {
  const sqlClient = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  const loads: Load[] = [];
  const { senderPerRoom } = variant;
  try {
    for (const start of [
      () => startOurs(stack, opts, { senderPerRoom }),
      () => startPeer(variant.peer, stack, opts, sqlClient, { senderPerRoom }),
    ]) {
      const load = new Load(await start(), opts, sqlClient, log);
      loads.push(load);
      log(`cost: ${load.contender.name}: warming up with ${2 * opts.messages} messages`);
      await load.start();
    }
    // What the stacks cost doing nothing: polling, heartbeats, timers.
    const idle: Array<Map<string, number>> = [];
    for (const load of loads) idle.push(await load.idle(IDLE_SECONDS));
    const idleTotal = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    const measured = await alternatingRounds(loads, opts.rounds);
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
      cpuMsPerMessageByRound: { ours: cpuPerRound(measured[0]!), [variant.peer]: cpuPerRound(measured[1]!) },
      messages: opts.messages,
      concurrency: opts.concurrency,
      rooms: opts.rooms,
      subscribersPerRoom: opts.subscribersPerRoom ?? SUBSCRIBERS_PER_ROOM,
      ours: { acked: ours.acked, failed: ours.failed, perProcess: breakdown(ours), latency: ours.latency },
      [variant.peer]: {
        acked: theirs.acked,
        failed: theirs.failed,
        perProcess: breakdown(theirs),
        latency: theirs.latency,
      },
    };
    const scenario = `${variant.scenario}, ${opts.concurrency} concurrent sends`;
    const peer = `${variant.peer} peer`;
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
        target: variant.cpuTarget.text,
        met: variant.cpuTarget.met(cpuOurs, cpuTheirs),
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
          [variant.peer]: Object.fromEntries(idle[1]!),
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
