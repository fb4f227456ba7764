import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import { sql } from "drizzle-orm";
import { unnestAs } from "../db/arrays.js";
import type { Database } from "../db/client.js";
import { KAFKA_RETRY } from "../kafka/client.js";
import { eventLog } from "../db/schema.js";
import { EPHEMERAL_EVENT_TYPES, eventHeaders } from "../commands/protocol.js";
import type { Logger } from "../shared/logger.js";
import type { Metrics } from "../shared/metrics.js";

export interface EventLogConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  db: Database;
  logger: Logger;
  metrics: Metrics;
  onFatal(error: unknown): void;
}

/**
 * Appends every event of `chat.events` to the append-only `event_log` table (the original
 * system's logging consumer), except MessageAdded: a message's row in `messages` is that
 * event's durable copy, and the `event_history` view shows both as one log. Its own consumer
 * group: it never holds up the chat path, and after a stop it catches up from its committed
 * offsets. Inserts are keyed by the record's position, so a redelivered batch adds nothing.
 */
export function createEventLogConsumer(options: EventLogConsumerOptions) {
  const { logger } = options;
  let consumer: Consumer | null = null;

  return {
    async start() {
      consumer = options.kafka.consumer({
        groupId: options.groupId,
        allowAutoTopicCreation: false,
        retry: KAFKA_RETRY,
        // Nobody waits on the log: the broker holds each fetch until a good batch has
        // gathered, so the log costs a few requests a second instead of one per event.
        minBytes: 256 * 1024,
        maxWaitTimeInMs: 1000,
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        logger.error({ err: payload.error, restart: payload.restart }, "event-log consumer crashed");
        if (!payload.restart) options.onFatal(payload.error);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          // Throwing leaves the offsets where they were: kafkajs retries, then restarts us.
          const logged = await appendToEventLog(options.db, batch.topic, batch.partition, batch.messages);
          options.metrics.eventsLogged.inc(logged);
        },
      });
      logger.info({ topic: options.topic, groupId: options.groupId }, "event-log consumer running");
    },

    async stop() {
      await consumer?.disconnect();
      consumer = null;
    },
  };
}

/** Appends a batch's records to `event_log` (a redelivered one adds nothing); how many it logged. */
async function appendToEventLog(db: Database, topic: string, partition: number, records: KafkaMessage[]) {
  // A message's copy is its row; ephemeral events (typing, presence) are stored nowhere.
  const logged = records.filter((m) => {
    const type = m.headers?.[eventHeaders.type]?.toString() ?? "";
    return type !== "MessageAdded" && !EPHEMERAL_EVENT_TYPES.has(type);
  });
  if (logged.length === 0) return 0;
  // One statement text for any batch length (src/db/arrays.ts says why). jsonb, bigint and
  // timestamptz travel as text arrays, which postgres.js serializes.
  const input = unnestAs("e", logged, {
    topic: ["text", () => topic],
    partition: ["int", () => partition],
    log_offset: ["text", (m) => m.offset],
    channel: ["text", (m) => m.headers?.[eventHeaders.channel]?.toString() ?? null],
    payload: ["text", (m) => JSON.stringify(payloadOf(m))],
    produced_at: ["text", (m) => new Date(Number(m.timestamp)).toISOString()],
  });
  await db.execute(sql`
    insert into ${eventLog} (topic, partition, "offset", channel, payload, produced_at)
    select topic, partition, log_offset::bigint, channel, payload::jsonb, produced_at::timestamptz
    from ${input} on conflict do nothing`);
  return logged.length;
}

/** The record's JSON, or what it held when it is not JSON (the log keeps everything). */
function payloadOf(record: KafkaMessage): unknown {
  const text = record.value?.toString("utf8") ?? "";
  try {
    return JSON.parse(text);
  } catch {
    return { malformed: text.slice(0, 10_000) };
  }
}
