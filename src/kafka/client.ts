import { readFileSync } from "node:fs";
import kafkajs, { Kafka, logLevel, type Admin, type KafkaConfig, type LogEntry, type SASLOptions } from "kafkajs";
import type { Config } from "../config/env.js";
import type { Logger } from "../shared/logger.js";

// Node's ESM loader does not find this name in kafkajs's CommonJS exports (vitest's does).
const { ConfigResourceTypes } = kafkajs;

const levels: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/** How a process authenticates to the brokers and whether it speaks TLS (kafkajs's options). */
export interface KafkaSecurity {
  ssl?: KafkaConfig["ssl"];
  sasl?: SASLOptions;
}

/** The security options the configuration asks for; reads the CA file, which loadConfig has checked. */
export function kafkaSecurity(config: Config): KafkaSecurity {
  const ca = config.KAFKA_SSL_CA_FILE;
  const ssl = ca && config.KAFKA_SSL !== false ? { ca: [readFileSync(ca, "utf8")] } : config.KAFKA_SSL;
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  const sasl = mechanism && username && password ? { mechanism, username, password } : undefined;
  return { ...(ssl ? { ssl } : {}), ...(sasl ? { sasl } : {}) };
}

/** A kafkajs client whose logs go through our logger. */
export function createKafka(options: { brokers: string[]; clientId: string; logger: Logger } & KafkaSecurity): Kafka {
  const kafkaLogger = options.logger.child({ component: "kafkajs" });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: options.ssl,
    sasl: options.sasl,
    // kafkajs INFO is chatty (every join and rebalance); WARN and above is what operators need,
    // and with LOG_LEVEL=trace everything kafkajs says (every request), to trace a failover.
    logLevel: options.logger.isLevelEnabled("trace") ? logLevel.DEBUG : logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, timestamp: _ts, logger: _l, ...rest } = log;
        kafkaLogger[levels[level] ?? "info"](rest, message);
      },
    retry: KAFKA_RETRY,
  });
}

/**
 * How every Kafka client here retries (requests, reconnects, metadata, consumers' restarts):
 * from 100 ms doubling to at most 1 s apart, for about 30 s. Capped so that a client notices
 * within a second that a failover has ended (kafkajs's default grows to 30 s between attempts,
 * which kept answers stalled long after the cluster had recovered); long enough to outlast a
 * leader election (the controller waits broker.session.timeout.ms, 9 s by default).
 */
export const KAFKA_RETRY = { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 };

/**
 * Every produce waits for all in-sync replicas (Kafka's acks=all, kafkajs's default, stated
 * here because the guarantees rest on it): with min.insync.replicas 2 an acknowledged record
 * survives the loss of any one broker.
 */
export const ACKS_ALL = -1;

export interface Topics {
  commands: string;
  events: string;
  deadLetters: string;
}

export const topicNames = (prefix: string): Topics => ({
  commands: `${prefix}chat.commands`,
  events: `${prefix}chat.events`,
  deadLetters: `${prefix}chat.commands.dlq`,
});

/** Consumer groups; the topic prefix applies to them too. */
export interface Groups {
  /** All workers. */
  workers: string;
  eventLog: string;
  /** The moderation consumer (process role `moderation`). */
  moderation: string;
  /** Each API process reads every event in a group of its own, named with this prefix. */
  apiPrefix: string;
}

export const groupNames = (prefix: string, workerGroup: string): Groups => ({
  workers: `${prefix}${workerGroup}`,
  eventLog: `${prefix}chat-event-log`,
  moderation: `${prefix}chat-moderation`,
  apiPrefix: `${prefix}chat-api`,
});

/** The topic settings the configuration asks for. */
export const topicSettings = (config: Config): TopicSettings => ({
  partitions: config.KAFKA_TOPIC_PARTITIONS,
  replicationFactor: config.KAFKA_REPLICATION_FACTOR,
  minInSyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
});

export interface TopicSettings {
  partitions: number;
  /** Replicas per partition; undefined: the brokers' default.replication.factor. */
  replicationFactor?: number;
  /** Replicas that must have a record before it is acknowledged; undefined: 2 with 3+ replicas, else 1. */
  minInSyncReplicas?: number;
}

/**
 * Creates the fixed topics if they are missing, replicated as configured (else as the brokers'
 * default says) with min.insync.replicas set, and waits until every partition has a leader.
 * Existing topics are left as they are: a warning says when one has fewer replicas than asked.
 */
export async function ensureTopics(kafka: Kafka, topics: Topics, settings: TopicSettings, logger: Logger) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Null when the brokers' default cannot be read (a principal without DescribeConfigs on
    // the cluster): Kafka then applies its own defaults to the topics this creates.
    const replicas = settings.replicationFactor ?? (await defaultReplicationFactor(admin, logger));
    const minInSync = settings.minInSyncReplicas ?? (replicas === null ? null : replicas >= 3 ? 2 : 1);
    const existing = new Set(await admin.listTopics());
    const toCreate = Object.values(topics).filter((t) => !existing.has(t));
    if (toCreate.length > 0) {
      // Processes starting together race to create the same topics: losing is fine.
      const created = await admin
        .createTopics({
          waitForLeaders: false,
          topics: toCreate.map((topic) => ({
            topic,
            numPartitions: settings.partitions,
            replicationFactor: replicas ?? -1,
            configEntries: minInSync === null ? [] : [{ name: "min.insync.replicas", value: String(minInSync) }],
          })),
        })
        .catch((error: unknown) => untilListed(admin, toCreate, error).then(() => false));
      if (created) logger.info({ topics: toCreate, replicas, minInSync }, "created topics");
    }
    const metadata = await waitForLeaders(admin, Object.values(topics));
    for (const { name, partitions } of metadata) {
      const fewest = Math.min(...partitions.map((p) => p.replicas.length));
      if (replicas !== null && fewest < replicas)
        logger.warn(
          { topic: name, replicas: fewest, wanted: replicas },
          `topic ${name} has ${fewest} replica(s) per partition, fewer than the ${replicas} configured: ` +
            "a broker's loss can stop it or lose records; raise its replication with kafka-reassign-partitions",
        );
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * After a failed creation: the topics may exist but not be listed yet, when another process
 * just created them or an operator just granted this principal access (brokers apply new
 * topics and ACLs a moment after the controller accepts them). Waits up to 10 s for them,
 * else throws the creation's error.
 */
async function untilListed(admin: Admin, topics: string[], error: unknown) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const listed = new Set(await admin.listTopics());
    if (topics.every((t) => listed.has(t))) return;
    if (Date.now() > deadline) throw error;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function defaultReplicationFactor(admin: Admin, logger: Logger): Promise<number | null> {
  const { brokers } = await admin.describeCluster();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        {
          type: ConfigResourceTypes.BROKER,
          name: String(brokers[0]!.nodeId),
          configNames: ["default.replication.factor"],
        },
      ],
    });
    const value = Number(resources[0]?.configEntries[0]?.configValue);
    return Number.isInteger(value) && value > 0 ? Math.min(value, brokers.length) : null;
  } catch (error) {
    logger.info(
      { err: error },
      "cannot read the brokers' default.replication.factor; topics get the brokers' defaults (set KAFKA_REPLICATION_FACTOR to choose)",
    );
    return null;
  }
}

/**
 * Until every partition of the topics has a leader (a topic just created, or a cluster just
 * started, answers "does not host this topic-partition" for a moment): at most 60 s.
 */
async function waitForLeaders(admin: Admin, names: string[]) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      if (topics.length === names.length && topics.every((t) => t.partitions.every((p) => p.leader >= 0)))
        return topics;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`the topics ${names.join(", ")} have no leader after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** How many partitions a topic has. */
export async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]!.partitions.length;
  } finally {
    await admin.disconnect();
  }
}
