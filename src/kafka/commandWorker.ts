import { Partitioners, type Consumer, type Kafka, type KafkaMessage, type Message, type Producer } from "kafkajs";
import type { Database } from "../db/client.js";
import {
  commandEnvelope,
  OUTCOMES_CHANNEL,
  roomChannel,
  type AnyCommand,
  type CommandOutcome,
  type RoomEvent,
} from "../commands/protocol.js";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Topics } from "./client.js";

export interface CommandWorkerOptions {
  kafka: Kafka;
  topics: Topics;
  groupId: string;
  db: Database;
  commands: readonly AnyCommand[];
  logger: Logger;
  /** Called when the consumer fails for good; the process should exit and be restarted. */
  onFatal(error: unknown): void;
}

export interface CommandWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly running: boolean;
}

/** SQLSTATE classes that retrying cannot fix: data exceptions and integrity violations. */
const isPermanentDatabaseError = (error: unknown): boolean => {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && /^(22|23)/.test(code);
};

interface DeadLetter {
  message: KafkaMessage;
  reason: string;
}

/**
 * Applies commands from `chat.commands` in batches: one database transaction per batch of a
 * partition, each command in its own savepoint, then outcome and domain events are
 * published, and only then are the offsets committed. A crash anywhere in between
 * redelivers the batch, and every command is idempotent, so nothing is lost or doubled.
 */
export function createCommandWorker(options: CommandWorkerOptions): CommandWorker {
  const { logger, topics } = options;
  const registry = new Map(options.commands.map((c) => [c.type, c]));
  let consumer: Consumer | null = null;
  let producer: Producer | null = null;
  let running = false;

  async function applyBatch(records: KafkaMessage[]) {
    const outcomes: CommandOutcome[] = [];
    const events: RoomEvent[] = [];
    const deadLetters: DeadLetter[] = [];

    await options.db.transaction(async (tx) => {
      for (const record of records) {
        let raw: unknown;
        try {
          raw = JSON.parse(record.value?.toString("utf8") ?? "");
        } catch {
          deadLetters.push({ message: record, reason: "value is not JSON" });
          continue;
        }
        const envelope = commandEnvelope.safeParse(raw);
        if (!envelope.success) {
          deadLetters.push({ message: record, reason: `not a command envelope: ${envelope.error.issues[0]?.message}` });
          continue;
        }
        const command = envelope.data;
        const definition = registry.get(command.type);
        if (!definition) {
          deadLetters.push({ message: record, reason: `unknown command type ${command.type}` });
          outcomes.push({ commandId: command.id, ok: false, error: { code: "BAD_USER_INPUT", message: `unknown command type ${command.type}` } });
          continue;
        }
        const payload = definition.payload.safeParse(command.payload);
        if (!payload.success) {
          const message = `invalid ${command.type} payload: ${payload.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`;
          deadLetters.push({ message: record, reason: message });
          outcomes.push({ commandId: command.id, ok: false, error: { code: "BAD_USER_INPUT", message } });
          continue;
        }
        try {
          const applied = await tx.transaction((savepoint) => definition.apply(savepoint, { ...command, payload: payload.data }));
          outcomes.push({ commandId: command.id, ok: true, result: applied.result });
          events.push(...(applied.events ?? []));
        } catch (error) {
          if (error instanceof AppError) {
            outcomes.push({ commandId: command.id, ok: false, error: { code: error.code, message: error.message } });
          } else if (isPermanentDatabaseError(error)) {
            logger.error({ err: error, commandId: command.id, type: command.type }, "command can never be applied");
            deadLetters.push({ message: record, reason: `database rejected it: ${(error as Error).message}` });
            outcomes.push({ commandId: command.id, ok: false, error: { code: "INTERNAL_SERVER_ERROR", message: `command ${command.id} could not be applied` } });
          } else {
            throw error; // transient: the whole batch rolls back and is retried
          }
        }
      }
    });

    const eventMessages: Message[] = [
      ...outcomes.map((o) => ({ key: o.commandId, value: JSON.stringify(o), headers: { channel: OUTCOMES_CHANNEL } })),
      ...events.map((e) => ({ key: e.roomId, value: JSON.stringify(e), headers: { channel: roomChannel(e.roomId) } })),
    ];
    const dlqMessages: Message[] = deadLetters.map(({ message, reason }) => ({
      key: message.key,
      value: message.value,
      headers: { ...message.headers, "dlq-reason": reason, "dlq-offset": message.offset },
    }));
    await producer!.sendBatch({
      topicMessages: [
        { topic: topics.events, messages: eventMessages },
        { topic: topics.deadLetters, messages: dlqMessages },
      ].filter((t) => t.messages.length > 0),
    });
    for (const d of deadLetters) logger.warn({ offset: d.message.offset, reason: d.reason }, "command dead-lettered");
  }

  return {
    get running() {
      return running;
    },

    async start() {
      producer = options.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        logger.error({ err: payload.error, restart: payload.restart }, "command consumer crashed");
        if (!payload.restart) options.onFatal(payload.error);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: topics.commands, fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          await applyBatch(batch.messages);
          resolveOffset(batch.lastOffset());
          await commitOffsetsIfNecessary();
          await heartbeat();
        },
      });
      running = true;
      logger.info({ topic: topics.commands, groupId: options.groupId }, "command worker running");
    },

    async stop() {
      running = false;
      await consumer?.disconnect();
      await producer?.disconnect();
      consumer = producer = null;
    },
  };
}
