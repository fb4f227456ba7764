/**
 * A broker's death on a replicated cluster: 3 KRaft nodes (replication factor 3,
 * min.insync.replicas 2), two API processes and two workers, steady sends over 10 rooms with a
 * subscriber per room on each API. Each scenario checks that nothing acknowledged is lost or
 * doubled, every subscriber's stream is complete and gapless, no app process exits, and how long
 * sends failed or stalled (figures printed as a [fault] line).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { waitUntil, type AppProcess } from "../../scripts/app-process.js";
import {
  activeController,
  brokerList,
  clusterNodes,
  start,
  startNode,
  stop,
  stopNode,
  type KafkaNode,
} from "../../scripts/local-kafka.js";
import { ensureTopics, topicNames } from "../../src/kafka/client.js";
import { Scenario } from "./support/scenario.js";
import { faultFigures, SteadyLoad } from "./support/steadyLoad.js";
import { checkStored, createRooms, report, ResumingSubscriber, waitForDeliveries } from "./support/stream.js";

const { ConfigResourceTypes } = kafkajs;
const PORT = Number(process.env.FAULT_CLUSTER_PORT ?? 19192);
const nodes = clusterNodes(PORT, 3);
const brokers = brokerList(nodes);
const admin = new Kafka({ brokers: brokers.split(","), logLevel: logLevel.NOTHING }).admin();
/** The deadline a mutation waits for (the product's default). */
const COMMAND_TIMEOUT_MS = 20_000;
let scenario: Scenario | undefined;

beforeAll(async () => {
  await start({
    port: PORT,
    brokers: 3,
    // On a 2-core CI machine a starting broker's C2 compiler takes a core for ~10 s and stalls
    // every process, which is not what these scenarios measure; C1 alone starts cheaply.
    jvmOptions: ["-XX:TieredStopAtLevel=1"],
    log: (line) => console.log(`[cluster] ${line}`),
  });
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin.disconnect();
  await stop({ port: PORT, log: () => {} });
});

afterEach(async () => {
  await scenario?.stop();
  scenario = undefined;
  await Promise.all(nodes.map(startNode)); // a failed scenario leaves no node down for the next
});

it("creates topics with the cluster's replication and min.insync.replicas 2, and names an existing one with fewer replicas", async () => {
  const prefix = `topics-${randomUUID().slice(0, 8)}.`;
  const topics = topicNames(prefix);
  // One of the three already exists with a single replica, as a product that once ran on one broker left it.
  await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic: topics.events, numPartitions: 2, replicationFactor: 1 }],
  });
  try {
    const warnings: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(line) });
    const kafka = new Kafka({ brokers: brokers.split(","), logLevel: logLevel.NOTHING });
    await ensureTopics(kafka, topics, { partitions: 2 }, logger);
    // Brokers learn of new topics one after another: ask until the one asked knows them.
    let metadata: Awaited<ReturnType<typeof admin.fetchTopicMetadata>>["topics"] = [];
    await waitUntil(
      async () =>
        (metadata = (await admin.fetchTopicMetadata({ topics: [topics.commands, topics.events] })).topics).length === 2,
      10_000,
      "the new topics' metadata",
    );
    const replicas = (name: string) => metadata.find((t) => t.name === name)!.partitions.map((p) => p.replicas.length);
    expect(replicas(topics.commands)).toEqual([3, 3]);
    expect(replicas(topics.events)).toEqual([1, 1]);
    // describeConfigs asks any one broker, which may not know the topic yet either (waitUntil asks again).
    let minInsync: string | undefined;
    await waitUntil(
      async () => {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.commands, configNames: ["min.insync.replicas"] }],
        });
        minInsync = resources[0]?.configEntries[0]?.configValue;
        return minInsync !== undefined;
      },
      10_000,
      "the new topic's configuration",
    );
    expect(minInsync).toBe("2");
    expect(warnings.filter((w) => w.includes(topics.events) && w.includes("fewer than the 3"))).toHaveLength(1);
  } finally {
    // A topic with one replica would have no leader while its broker is down in the scenarios below.
    await admin.deleteTopics({ topics: Object.values(topics) });
  }
});

/** Every partition of every topic (the group offsets' too) has all its replicas in sync again. */
async function waitForFullIsr() {
  await waitUntil(
    async () => {
      const { topics } = await admin.fetchTopicMetadata();
      return topics.every((t) => t.partitions.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length));
    },
    120_000,
    "every partition's replicas to be in sync",
  );
}

async function leaderOfMostPartitions(topic: string): Promise<KafkaNode> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const led = new Map<number, number>();
  for (const p of topics[0]!.partitions) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
  const [nodeId] = [...led.entries()].sort((a, b) => b[1] - a[1])[0]!;
  return nodes.find((n) => n.id === nodeId)!;
}

/**
 * Runs steady load, injects `fault` once 50 sends are acknowledged, goes on until 100 more are
 * after it returned, then checks and reports. `fault` gets the scenario's topic prefix and load.
 */
async function throughFault<K extends Record<string, number>>(
  name: string,
  fault: (prefix: string, load: SteadyLoad) => Promise<K>,
  stallMs = 1000,
) {
  const s = (scenario = await Scenario.start(
    { apis: 2, workers: 2 },
    {
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PARTITIONS: "6",
      COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      LOG_LEVEL: process.env.FAULT_APP_LOG_LEVEL ?? "warn",
    },
  ));
  const rooms = await createRooms(s.urls()[0]!, 10);
  const subscribers = rooms.flatMap((room) =>
    [0, 1].map((api) => new ResumingSubscriber(s.urls, room.members[1]!, room.id, api)),
  );
  subscribers.forEach((sub) => sub.start());
  const load = new SteadyLoad(s.urls, rooms, { senders: 4, intervalMs: 200, prefix: "c" });
  try {
    load.start();
    await waitUntil(() => load.acknowledged.size >= 50, 60_000, "50 sends acknowledged before the fault");
    const faultAt = Date.now();
    const kafkaFigures = await fault(s.env.KAFKA_TOPIC_PREFIX!, load);
    const after = load.acknowledged.size;
    await waitUntil(() => load.acknowledged.size >= after + 100, 120_000, "100 sends acknowledged after the fault");
    const endedAt = Date.now();
    const result = await load.stop();
    const stored = await checkStored(s.db, rooms, result);
    const delivery = await waitForDeliveries(subscribers, stored.perRoom, 90_000);
    const figures = {
      acknowledged: result.acknowledged.size,
      stored: stored.stored,
      ...delivery,
      ...kafkaFigures,
      ...faultFigures(load, subscribers, faultAt, { stallMs, endedAt }),
      failures: result.failures,
      exited: [...s.apis, ...s.workers].filter((p) => p.child.exitCode !== null).length,
      consumerCrashes: [...s.apis, ...s.workers].reduce((n, p) => n + crashesSince(p, faultAt), 0),
    };
    report(name, figures as Record<string, unknown>);
    keepLogs(name, s);
    return figures;
  } finally {
    await Promise.all(subscribers.map((sub) => sub.stop()));
  }
}

/**
 * Consumers of `app` that crashed after `since` (kafkajs restarts them; a crash at start, on a
 * cluster that has just created the topics, is not the fault's doing).
 */
function crashesSince(app: AppProcess, since: number) {
  return app
    .logs()
    .split("\n")
    .filter((line) => line.includes("consumer crashed") && Date.parse(JSON.parse(line).time) >= since).length;
}

/** With FAULT_LOG_DIR set, each app process's output is written there, one file per scenario and process. */
function keepLogs(name: string, s: Scenario) {
  const dir = process.env.FAULT_LOG_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const slug = name.replace(/[^a-z0-9]+/gi, "-");
  for (const [i, p] of [...s.apis, ...s.workers].entries())
    writeFileSync(path.join(dir, `${slug}.${p.role}-${i}.log`), p.logs());
}

/**
 * Sends fail or stall, and deliveries pause, for at most 15 s, or at most 5 s longer than Kafka
 * itself took to move the dead node's partitions when that is longer (the controller waits
 * broker.session.timeout.ms, 9 s, and on a loaded 2-core machine took 7.5-13.4 s in all): the
 * client's share is what these scenarios hold to account (1.4-3.4 s measured).
 */
function expectWithinFailover(run: { disruptedMs: number; deliveryGapMs: number; leadersMovedMs: number }) {
  const limit = Math.max(15_000, run.leadersMovedMs + 5_000);
  expect(run.disruptedMs).toBeLessThanOrEqual(limit);
  expect(run.deliveryGapMs).toBeLessThanOrEqual(limit);
}

/** Until no partition (the group offsets' too) is led by `node` or has no leader. */
function leadersMovedOff(node: KafkaNode) {
  return waitUntil(
    async () => {
      const { topics } = await admin.fetchTopicMetadata();
      return topics.every((t) => t.partitions.every((p) => p.leader !== node.id && p.leader >= 0));
    },
    60_000,
    `leaders to move off node ${node.id}`,
  );
}

/**
 * kill -9, ~20 s down, started again, its replicas back in sync. `leadersMovedMs`: how long
 * Kafka itself took to move every partition (the group offsets' too) off the dead node.
 */
async function crash(node: KafkaNode) {
  const killedAt = Date.now();
  await stopNode(node, "SIGKILL");
  await leadersMovedOff(node);
  const leadersMovedMs = Date.now() - killedAt;
  await new Promise((r) => setTimeout(r, killedAt + 20_000 - Date.now())); // the outage, not a wait for an event
  await startNode(node);
  await waitForFullIsr();
  return { leadersMovedMs };
}

it("kill -9 of the broker leading the most command partitions costs seconds, not minutes", async () => {
  const run = await throughFault("cluster: kill -9 the leader of most command partitions", async (prefix) =>
    crash(await leaderOfMostPartitions(`${prefix}chat.commands`)),
  );
  expect(run).toMatchObject({ duplicates: 0, exited: 0, consumerCrashes: 0, failedCalls: 0 });
  expect(run.stored).toBe(run.acknowledged);
  expectWithinFailover(run);
});

it("kill -9 of the active KRaft controller costs seconds, not minutes", async () => {
  const run = await throughFault("cluster: kill -9 the active controller", async () => {
    const controller = activeController(nodes);
    if (!controller) throw new Error("no active controller in the nodes' logs");
    return crash(controller);
  });
  expect(run).toMatchObject({ duplicates: 0, exited: 0, consumerCrashes: 0, failedCalls: 0 });
  expect(run.stored).toBe(run.acknowledged);
  expectWithinFailover(run);
});

it("a rolling restart with SIGTERM fails no send and stalls none over 2 s", async () => {
  const run = await throughFault(
    "cluster: rolling restart (SIGTERM)",
    async () => {
      const figures: Record<string, number> = {};
      for (const node of nodes) {
        const stoppingAt = Date.now();
        await Promise.all([
          stopNode(node, "SIGTERM").then(() => (figures[`node${node.id}StoppedMs`] = Date.now() - stoppingAt)),
          leadersMovedOff(node).then(() => (figures[`node${node.id}LeadersMovedMs`] = Date.now() - stoppingAt)),
        ]);
        await startNode(node);
        await waitForFullIsr();
      }
      return figures;
    },
    2000,
  );
  // No send fails: leaders move before a broker stops. (Until kafkajs's sendMessages was
  // patched, one send in about three runs resolved without its record reaching Kafka, and its
  // caller waited out the deadline: see docs/architecture.md.)
  expect(run).toMatchObject({ duplicates: 0, exited: 0, consumerCrashes: 0, failedCalls: 0 });
  // No answered call stalls more than 2 s beyond twice the p99 of calls outside any stall: on
  // the 2-core CI machine running three brokers, four app processes and the load, that p99 is
  // 0.3-1.1 s and calls stall 2-3 s now and then with no fault at all (and when a restarted
  // broker's JVM starts), so a flat 2 s cannot be judged here.
  expect(run.slowestAnsweredCallMs).toBeLessThanOrEqual(2_000 + 2 * run.callP99OutsideMs);
  expect(run.stored).toBe(run.acknowledged);
});

it("with two of three brokers down sends fail with a clear code within the deadline, and resume by themselves", async () => {
  const run = await throughFault("cluster: two of three down, then one back", async (_prefix, load) => {
    const [a, b] = nodes;
    const downAt = Date.now();
    await Promise.all([stopNode(a!, "SIGKILL"), stopNode(b!, "SIGKILL")]);
    // A call in flight at the kill fails at its own deadline; one made after it, at its.
    await waitUntil(
      () => load.attempts.some((x) => x.error !== null && x.endedAt >= downAt),
      2 * COMMAND_TIMEOUT_MS + 10_000,
      "a send to fail",
    );
    const firstFailureMs = Date.now() - downAt;
    const backAt = Date.now();
    const acknowledged = load.acknowledged.size;
    await startNode(a!);
    const nodeStartedMs = Date.now() - backAt;
    await waitUntil(
      async () => {
        const { topics } = await admin.fetchTopicMetadata();
        return topics.every((t) => t.partitions.every((p) => p.leader >= 0 && p.leader !== b!.id));
      },
      120_000,
      "every partition to have a live leader",
    );
    const leadersBackMs = Date.now() - backAt;
    await waitUntil(() => load.acknowledged.size >= acknowledged + 20, 120_000, "sends to resume with one back");
    const sendsBackMs = Date.now() - backAt;
    await startNode(b!);
    await waitForFullIsr();
    return { firstFailureMs, nodeStartedMs, leadersBackMs, sendsBackMs };
  });
  expect(run).toMatchObject({ duplicates: 0, exited: 0 });
  expect(run.stored).toBe(run.acknowledged);
  expect(Object.keys(run.failures).every((code) => ["SERVICE_UNAVAILABLE", "COMMAND_TIMEOUT"].includes(code))).toBe(
    true,
  );
  expect(run.firstFailureMs).toBeLessThanOrEqual(COMMAND_TIMEOUT_MS + 5_000);
  // Every failed call ended within its deadline (and a little), none hung.
  expect(run.slowestCallMs).toBeLessThanOrEqual(COMMAND_TIMEOUT_MS + 2_000);
});
