import { Kafka, logLevel, type LogEntry } from "kafkajs";
import type { Logger } from "../logger.js";

const levels: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/** A kafkajs client whose logs go through our logger. */
export function createKafka(options: { brokers: string[]; clientId: string; logger: Logger }): Kafka {
  const kafkaLogger = options.logger.child({ component: "kafkajs" });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
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
