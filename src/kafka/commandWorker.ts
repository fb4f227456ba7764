import { Partitioners, type Consumer, type Kafka, type KafkaMessage, type Message, type Producer } from "kafkajs";
import { inArray } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { commandLog } from "../db/schema.js";
import {
  commandEnvelope,
  OUTCOMES_CHANNEL,
  roomChannel,
  type AnyCommand,
  type CommandEnvelope,
  type CommandOutcome,
  type RoomEvent,
} from "../commands/protocol.js";
import { AppError, type ErrorCode } from "../errors.js";
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

  /** Reads a record into a command, or says why it can never be one. */
  function decode(record: KafkaMessage): { command: CommandEnvelope } | { reason: string } {
    let raw: unknown;
    try {
      raw = JSON.parse(record.value?.toString("utf8") ?? "");
    } catch {
      return { reason: "value is not JSON" };
    }
    const envelope = commandEnvelope.safeParse(raw);
    if (!envelope.success) return { reason: `not a command envelope: ${envelope.error.issues[0]?.message}` };
    return { command: envelope.data };
  }

  async function applyBatch(records: KafkaMessage[]) {
    const outcomes: CommandOutcome[] = [];
    const events: RoomEvent[] = [];
    const deadLetters: DeadLetter[] = [];
    const decoded = records.map((record) => ({ record, ...decode(record) }));

    await options.db.transaction(async (tx) => {
      // Commands decided before (a redelivered batch, a producer retry) are answered from
      // the log: same outcome, same events, no second application.
      const ids = decoded.flatMap((d) => ("command" in d ? [d.command.id] : []));
      const decided = new Map<string, { outcome: CommandOutcome; events: RoomEvent[] }>();
      if (ids.length > 0) {
        const rows = await tx.select().from(commandLog).where(inArray(commandLog.commandId, ids));
        for (const row of rows) decided.set(row.commandId, { outcome: row.outcome as CommandOutcome, events: row.events as RoomEvent[] });
      }
      const newlyDecided: Array<typeof commandLog.$inferInsert> = [];
      const decide = (command: CommandEnvelope, outcome: CommandOutcome, emitted: RoomEvent[] = []) => {
        outcomes.push(outcome);
        events.push(...emitted);
        decided.set(command.id, { outcome, events: emitted });
        newlyDecided.push({ commandId: command.id, type: command.type, outcome, events: emitted });
      };
      const reject = (command: CommandEnvelope, code: ErrorCode, message: string) =>
        outcomes.push({ commandId: command.id, ok: false, error: { code, message } });

      for (const item of decoded) {
        if ("reason" in item) {
          deadLetters.push({ message: item.record, reason: item.reason });
          continue;
        }
        const { command, record } = item;
        const previous = decided.get(command.id);
        if (previous) {
          outcomes.push(previous.outcome);
          events.push(...previous.events);
          continue;
        }
        const definition = registry.get(command.type);
        if (!definition) {
          deadLetters.push({ message: record, reason: `unknown command type ${command.type}` });
          reject(command, "BAD_USER_INPUT", `unknown command type ${command.type}`);
          continue;
        }
        const payload = definition.payload.safeParse(command.payload);
        if (!payload.success) {
          const message = `invalid ${command.type} payload: ${payload.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`;
          deadLetters.push({ message: record, reason: message });
          reject(command, "BAD_USER_INPUT", message);
          continue;
        }
        try {
          const applied = await tx.transaction((savepoint) => definition.apply(savepoint, { ...command, payload: payload.data }));
          decide(command, { commandId: command.id, ok: true, result: applied.result }, applied.events);
        } catch (error) {
          if (error instanceof AppError) {
            decide(command, { commandId: command.id, ok: false, error: { code: error.code, message: error.message } });
          } else if (isPermanentDatabaseError(error)) {
            logger.error({ err: error, commandId: command.id, type: command.type }, "command can never be applied");
            deadLetters.push({ message: record, reason: `database rejected it: ${(error as Error).message}` });
            reject(command, "INTERNAL_SERVER_ERROR", `command ${command.id} could not be applied`);
          } else {
            throw error; // transient: the whole batch rolls back and is retried
          }
        }
      }
      if (newlyDecided.length > 0) await tx.insert(commandLog).values(newlyDecided);
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
