import { randomBytes, randomUUID } from "node:crypto";
import { Kafka, logLevel, type Admin } from "kafkajs";
import type postgres from "postgres";
import { AppProcess } from "../../scripts/app-process.js";
import { createTestDatabase, kafkaAnswers, startBroker } from "../../scripts/local-services.js";
import { buildForBenchmark } from "./processes.js";
import { graphql } from "./clients.js";
import { findPids, type ProcessGroup } from "./procstat.js";

export interface Stack {
  brokers: string;
  databaseUrl: string;
  /** A topic prefix of its own for a scenario's app processes; the run deletes its topics at the end. */
  topicPrefix(): string;
  stop(): Promise<void>;
}

/** Kafka (reused on 127.0.0.1:9092 when one answers, else the managed broker) and a fresh database. */
export async function startStack(log: (line: string) => void): Promise<Stack> {
  log("compiling the app and the baselines (tsconfig.bench.json)");
  buildForBenchmark();
  const brokers = "127.0.0.1:9092";
  let stopBroker = async () => {};
  if (await kafkaAnswers([brokers])) log(`using the Kafka broker at ${brokers}`);
  else stopBroker = await startBroker(9092, "bench");
  await warnOfOthersTopics(brokers, log);
  const database = await createTestDatabase("chat_bench");
  const prefixes: string[] = [];
  return {
    brokers,
    databaseUrl: database.url,
    topicPrefix() {
      prefixes.push(`bench-${randomUUID().slice(0, 8)}.`);
      return prefixes.at(-1)!;
    },
    async stop() {
      // So that repeated runs do not pile partitions up on the broker.
      await deleteTopics(brokers, prefixes).catch((error: Error) => log(`could not delete topics: ${error.message}`));
      await database.drop();
      await stopBroker();
    },
  };
}

/**
 * The broker may hold topics of earlier test runs (a single local broker keeps its data
 * between starts): their partitions cost the broker CPU while idle, which the idle figures
 * would count as ours (seen: 94 topics, the broker's idle CPU 26 ms/s against 19 without
 * them). Said, not deleted: they are not the bench's.
 */
async function warnOfOthersTopics(brokers: string, log: (line: string) => void) {
  const others = await withAdmin(brokers, async (admin) =>
    (await admin.listTopics()).filter((t) => !t.startsWith("__")),
  );
  if (others.length > 0)
    log(
      `warning: the broker holds ${others.length} topics of others; idle and broker figures include their cost (for a clean broker: npm run kafka:stop, then remove .kafka/broker-9092)`,
    );
}

async function deleteTopics(brokers: string, prefixes: string[]) {
  await withAdmin(brokers, async (admin) => {
    const topics = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(p)));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  });
}

async function withAdmin<T>(brokers: string, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Kafka brokers on this machine, the nodes of a local cluster (scripts/local-kafka.ts) left out. */
const singleBrokerPids = () => findPids({ cmdline: "kafka.Kafka", notCmdline: "/cluster-" });

/** api and worker as separate processes, on topics of their own, configured as in production. */
export class Chat {
  private constructor(
    /** API processes: the first is `api`, the one scenarios send through. */
    readonly apis: AppProcess[],
    readonly workers: AppProcess[],
    readonly env: Record<string, string>,
    private readonly nodeArgs: string[],
  ) {}

  get api(): AppProcess | null {
    return this.apis[0] ?? null;
  }

  static env(stack: Stack, extra: Record<string, string> = {}): Record<string, string> {
    return {
      NODE_ENV: "production",
      JWT_SECRET: randomBytes(36).toString("base64"),
      LOG_LEVEL: "warn",
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.brokers,
      KAFKA_TOPIC_PREFIX: stack.topicPrefix(),
      KAFKA_TOPIC_PARTITIONS: "6",
      SUBSCRIPTION_QUEUE_LIMIT: "10000",
      EVENT_LOG_ENABLED: "false",
      // The load generator holds thousands of sockets as one user, signs up from one address
      // and sends as fast as it can.
      WS_MAX_SOCKETS_PER_USER: "100000",
      WS_MAX_UNAUTHENTICATED_PER_ADDRESS: "100000",
      RATE_LIMIT_SIGNUP_PER_ADDRESS: "1000000",
      RATE_LIMIT_LOGIN_PER_ADDRESS: "1000000",
      RATE_LIMIT_MESSAGES_PER_USER: "1000000",
      RATE_LIMIT_MUTATIONS_PER_USER: "1000000",
      BUDGET_POINTS_PER_MINUTE: "1000000000",
      BUDGET_QUERY_MS_PER_MINUTE: "1000000000",
      GRAPHQL_MAX_CONCURRENT_QUERIES: "1000",
      ...extra,
    };
  }

  /** With BENCH_PROFILE=DIR, each process writes a CPU profile (`node --cpu-prof`) there when it stops. */
  static async start(
    env: Record<string, string>,
    parts: { api: boolean; workers: number; apis?: number },
  ): Promise<Chat> {
    const profile = process.env.BENCH_PROFILE;
    const nodeArgs = [
      ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
      ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
    ];
    const workers: AppProcess[] = [];
    for (let i = 0; i < parts.workers; i++) workers.push(await AppProcess.start("worker", env, nodeArgs, "build"));
    const apis = await Promise.all(
      Array.from({ length: parts.api ? (parts.apis ?? 1) : 0 }, () => AppProcess.start("api", env, nodeArgs, "build")),
    );
    return new Chat(apis, workers, env, nodeArgs);
  }

  get url(): string {
    return this.api!.url;
  }

  /**
   * The processes a message costs: api, worker(s), the Kafka broker(s) (`kafka`: which; by
   * default every broker but a local cluster's nodes) and PostgreSQL.
   */
  processGroups(kafka = singleBrokerPids): ProcessGroup[] {
    return [
      { name: "api", pids: () => this.apis.map((api) => api.pid) },
      { name: "worker", pids: () => this.workers.map((w) => w.pid) },
      { name: "kafka", pids: kafka },
      { name: "postgresql", pids: () => findPids({ comm: "postgres" }) },
    ];
  }

  /** Each API process a group of its own (`api0`, `api1`, ...), then the rest as in processGroups. */
  processGroupsPerApi(): ProcessGroup[] {
    return [
      ...this.apis.map((api, i) => ({ name: `api${i}`, pids: () => [api.pid] })),
      ...this.processGroups().filter((g) => g.name !== "api"),
    ];
  }

  /** Runs `count` API processes: the ones after the first `count` are stopped, missing ones started. */
  async setApis(count: number): Promise<void> {
    await Promise.all(this.apis.splice(count).map((api) => api.stop()));
    const started = Array.from({ length: count - this.apis.length }, () =>
      AppProcess.start("api", this.env, this.nodeArgs, "build"),
    );
    this.apis.push(...(await Promise.all(started)));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apis, ...this.workers].map((p) => p.stop()));
  }
}

export interface Fixture {
  sender: { id: string; token: string };
  reader: { id: string; token: string };
  rooms: string[];
  /** With `senderPerRoom`: room i's own sender (the room's creator), one user per room. */
  roomSenders?: Array<{ id: string; token: string }>;
}

const SIGN_UP = `mutation($u: String!) { signUp(username: $u, password: "benchmark password", displayName: "Bench") { token user { id } } }`;
const ADD_FRIENDS = `mutation ($ids: [ID!]!) { addFriends(userIds: $ids) { id } }`;
const CREATE_ROOM = `mutation ($n: String!, $ids: [ID!]!) { createRoom(name: $n, memberIds: $ids) { id } }`;

async function benchUser(url: string) {
  const { signUp } = await graphql(url, SIGN_UP, { u: `b_${randomUUID().replace(/-/g, "").slice(0, 20)}` });
  return { id: signUp.user.id as string, token: signUp.token as string };
}

/**
 * A reader who is a member of `roomCount` rooms. By default one sender created them all (the
 * sender and the reader are friends); with `senderPerRoom`, each room has a creator of its own,
 * the room's only sender.
 */
export async function createFixture(
  url: string,
  roomCount: number,
  options: { senderPerRoom?: boolean } = {},
): Promise<Fixture> {
  const [sender, reader] = await Promise.all([benchUser(url), benchUser(url)]);
  const creators = options.senderPerRoom
    ? await inBatches(roomCount, () => benchUser(url))
    : Array.from({ length: roomCount }, () => sender);
  for (const creator of new Set([sender, ...creators]))
    await graphql(url, ADD_FRIENDS, { ids: [reader.id] }, creator.token);
  let created = 0;
  const rooms = await inBatches(roomCount, async () => {
    const i = created++;
    const { createRoom } = await graphql(url, CREATE_ROOM, { n: `bench ${i}`, ids: [reader.id] }, creators[i]!.token);
    return { index: i, id: createRoom.id as string };
  });
  rooms.sort((a, b) => a.index - b.index);
  return {
    sender,
    reader,
    rooms: rooms.map((r) => r.id),
    ...(options.senderPerRoom ? { roomSenders: creators } : {}),
  };
}

/** `count` results of `make`, ten at a time. */
async function inBatches<T>(count: number, make: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < count; i += 10)
    results.push(...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, make))));
  return results;
}

/**
 * After a bulk load: vacuumed, analyzed and checkpointed, so that autovacuum and the checkpoint
 * the load brings on do not run while ours is measured and are done by the time the
 * driver-only baseline runs. (CHECKPOINT needs a superuser or pg_checkpoint.)
 */
export async function settleAfterBulkLoad(db: postgres.Sql, log: (line: string) => void): Promise<void> {
  await db`vacuum (analyze) messages`;
  await db`checkpoint`.catch((error: Error) => log(`no checkpoint before measuring: ${error.message}`));
}
