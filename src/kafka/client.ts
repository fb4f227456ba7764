import { readFileSync } from "node:fs";
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from "kafkajs";
import type { Config } from "../config/env.js";
import type { Logger } from "../logger.js";

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
    // kafkajs INFO is chatty (every join and rebalance); WARN and above is what operators need.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, timestamp: _ts, logger: _l, ...rest } = log;
        kafkaLogger[levels[level] ?? "info"](rest, message);
      },
    retry: { initialRetryTime: 300, retries: 8 },
  });
}

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
  /** Each API process reads every event in a group of its own, named with this prefix. */
  apiPrefix: string;
}

export const groupNames = (prefix: string, workerGroup: string): Groups => ({
  workers: `${prefix}${workerGroup}`,
  eventLog: `${prefix}chat-event-log`,
  apiPrefix: `${prefix}chat-api`,
});

/** Creates the fixed topics if they are missing; existing topics are left as they are. */
export async function ensureTopics(
  kafka: Kafka,
  topics: Topics,
  options: { partitions: number; replicationFactor: number },
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const missing = async () => {
      const existing = new Set(await admin.listTopics());
      return Object.values(topics).filter((t) => !existing.has(t));
    };
    const toCreate = await missing();
    if (toCreate.length === 0) return;
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: toCreate.map((topic) => ({
          topic,
          numPartitions: options.partitions,
          replicationFactor: options.replicationFactor,
        })),
      });
    } catch (error) {
      // Processes starting together race to create the same topics (losing is fine), and a
      // broker that has just started may answer the leader wait with "does not host this
      // topic-partition" for topics it is still creating: wait for them to be listed.
      const deadline = Date.now() + 15_000;
      while ((await missing()).length > 0) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } finally {
    await admin.disconnect();
  }
}
