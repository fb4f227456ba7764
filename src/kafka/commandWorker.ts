import { Partitioners, type Consumer, type Kafka, type KafkaMessage, type Message, type Producer } from "kafkajs";
import { anyOf } from "../db/arrays.js";
import type { Database, Transaction } from "../db/client.js";
import { isPermanentDatabaseError } from "../db/errors.js";
import { commandLog } from "../db/schema.js";
import {
  commandEnvelope,
  eventHeaders,
  OUTCOMES_CHANNEL,
  type AnyCommand,
  type CommandEnvelope,
  type CommandOutcome,
  channelOf,
  keyOf,
  type DomainEvent,
} from "../commands/protocol.js";
import { AppError, type ErrorCode } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { ACKS_ALL, KAFKA_RETRY, type Topics } from "./client.js";

export interface CommandWorkerOptions {
  kafka: Kafka;
  topics: Topics;
  groupId: string;
  db: Database;
  commands: readonly AnyCommand[];
  logger: Logger;
  /** Kafka consumer session timeout: how soon a dead worker's partitions are reassigned. */
  sessionTimeoutMs: number;
  /** Commands applied per database transaction (1: one transaction per command). */
  transactionSize: number;
  /** Partitions whose batches this worker applies at the same time. */
  concurrency: number;
  /** How long the broker may hold a fetch to gather a larger batch. */
  fetchWaitMs: number;
  metrics: Metrics;
  /** Called when the consumer fails for good; the process should exit and be restarted. */
  onFatal(error: unknown): void;
}

export interface CommandWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * How long a fetch after an empty one waits for the first command (Kafka's own default
 * fetch.max.wait.ms). A rebalance or a stop waits for that fetch, so this bounds them too.
 */
const IDLE_FETCH_WAIT_MS = 500;

/**
 * How the worker fetches commands. While commands flow, a batch gathers on the broker for
 * `fetchWaitMs`: per-batch costs (a transaction, requests) are what a message costs here, so
 * fuller batches make each message cheaper. Once a fetch finds nothing, the next waits for
 * the first command instead (`idleMaxWaitTimeInMs`, kafkajs patched, see patches/): an idle
 * worker would otherwise ask the broker every fetchWaitMs, 200 requests a second, and the
 * first command after a pause would wait out the gathering fetch.
 */
export function commandFetch(fetchWaitMs: number) {
  return { maxWaitTimeInMs: fetchWaitMs, minBytes: 64 * 1024, idleMaxWaitTimeInMs: IDLE_FETCH_WAIT_MS };
}

const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 5_000;

async function waitWithHeartbeats(ms: number, heartbeat: () => Promise<void>, isRunning: () => boolean) {
  const until = Date.now() + ms;
  while (Date.now() < until && isRunning()) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, until - Date.now())));
    await heartbeat();
  }
}

/** A command's answer: its outcome and the events it emitted (re-emitted as they were on redelivery). */
interface Decision {
  definition?: AnyCommand;
  outcome: CommandOutcome;
  events: DomainEvent[];
}

/**
 * The records that publish a decision on `chat.events`: a success whose result its single
 * event carries is that event alone, marked `outcome-of`; anything else is an outcome record
 * followed by the events.
 */
function eventRecords({ definition, outcome, events }: Decision, trace: string): Message[] {
  const record = (event: DomainEvent, headers: Record<string, string> = {}): Message => ({
    key: keyOf(event),
    value: JSON.stringify(event),
    headers: {
      [eventHeaders.channel]: channelOf(event),
      [eventHeaders.type]: event.type,
      [eventHeaders.trace]: trace,
      ...headers,
    },
  });
  if (outcome.ok && events.length === 1 && definition?.resultOf?.(events[0]!) !== undefined)
    return [record(events[0]!, { [eventHeaders.outcomeOf]: outcome.commandId })];
  return [
    {
      key: outcome.commandId,
      value: JSON.stringify(outcome),
      headers: { [eventHeaders.channel]: OUTCOMES_CHANNEL, [eventHeaders.type]: "Outcome" },
    },
    ...events.map((event) => record(event)),
  ];
}

type Heartbeat = () => Promise<void>;

/**
 * Group commit: chunks handed in during one event-loop turn (the batches of several
 * partitions from one fetch) are applied together, up to `limit` records, so they share one
 * transaction and one produce request. Partitions hold different rooms, so putting their
 * chunks side by side changes no room's order; each caller still waits for its own chunk.
 */
function groupCommit(limit: number, apply: (records: KafkaMessage[], heartbeat: Heartbeat) => Promise<void>) {
  let waiting: Array<{ records: KafkaMessage[]; heartbeat: Heartbeat; settle: (error?: unknown) => void }> = [];
  function flush() {
    const group = [waiting.shift()!];
    let size = group[0]!.records.length;
    while (waiting.length > 0 && size + waiting[0]!.records.length <= limit) {
      size += waiting[0]!.records.length;
      group.push(waiting.shift()!);
    }
    if (waiting.length > 0) setImmediate(flush);
    apply(
      group.flatMap((item) => item.records),
      group[0]!.heartbeat, // a consumer-wide heartbeat: any caller's will do
    ).then(
      () => group.forEach((item) => item.settle()),
      (error: unknown) => group.forEach((item) => item.settle(error ?? new Error("batch failed"))),
    );
  }
  return (records: KafkaMessage[], heartbeat: Heartbeat) =>
    new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown) => (error === undefined ? resolve() : reject(error));
      if (waiting.push({ records, heartbeat, settle }) === 1) setImmediate(flush);
    });
}

interface DeadLetter {
  message: KafkaMessage;
  reason: string;
}

/**
 * Applies commands from `chat.commands` in batches: one database transaction per chunk of
 * a partition's batch (runs of commands with a fast path use multi-row statements, the
 * others each get a savepoint), every decision recorded in `command_log`; then outcomes and
 * domain events are published, and only then are the offsets committed. A crash anywhere
 * in between redelivers the chunk, which the log answers: nothing is lost or doubled.
 */
export function createCommandWorker(options: CommandWorkerOptions): CommandWorker {
  const { logger, topics } = options;
  const registry = new Map(options.commands.map((c) => [c.type, c]));
  let consumer: Consumer | null = null;
  /**
   * Offsets applied but not yet committed, per partition. kafkajs commits only when asked
   * during a batch; a timer commits these once a second, so an idle worker's offsets (and
   * the lag metric) catch up too. Losing one (a rebalance) only means redelivery.
   */
  const uncommitted = new Map<number, { topic: string; partition: number; offset: string }>();
  let commitTimer: NodeJS.Timeout | undefined;
  async function commitApplied() {
    if (!consumer || uncommitted.size === 0) return;
    const offsets = [...uncommitted.values()];
    uncommitted.clear();
    try {
      await consumer.commitOffsets(offsets);
    } catch (error) {
      logger.debug({ err: error }, "could not commit offsets; the partitions' next owner redoes them");
    }
  }
  let producer: Producer | null = null;

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

  /**
   * Applies a chunk, using the commands' multi-row fast paths where they have one. If the
   * database refuses a fast-path statement (a constraint no pre-check caught), the chunk is
   * applied again one command per savepoint, which isolates the culprit for the DLQ.
   */
  async function applyBatch(records: KafkaMessage[], heartbeat: () => Promise<void>) {
    try {
      await applyChunk(records, heartbeat, true);
    } catch (error) {
      if (!isPermanentDatabaseError(error)) throw error;
      logger.warn({ err: error }, "fast path refused by the database; applying the chunk one command at a time");
      await applyChunk(records, heartbeat, false);
    }
  }

  /**
   * Commands decided before (a redelivered batch, a producer retry) with what they produced:
   * rejections and most commands from `command_log`, commands that are their own record
   * (a message) from their definition's `findApplied`.
   */
  async function findDecided(tx: Transaction, commands: CommandEnvelope[]): Promise<Map<string, Decision>> {
    const decided = new Map<string, Decision>();
    if (commands.length === 0) return decided;
    // The lookups are independent: issued together, they share a round trip to the database.
    const selfRecorded = [...registry.values()].flatMap((definition) => {
      const own = commands.filter((c) => c.type === definition.type);
      return definition.findApplied && own.length > 0
        ? [definition.findApplied(tx, own).then((applied) => ({ definition, applied }))]
        : [];
    });
    const [rows, ...found] = await Promise.all([
      tx
        .select()
        .from(commandLog)
        .where(
          anyOf(
            commandLog.commandId,
            commands.map((c) => c.id),
          ),
        ),
      ...selfRecorded,
    ]);
    for (const { definition, applied } of found)
      for (const [commandId, { result, events }] of applied)
        decided.set(commandId, { definition, outcome: { commandId, ok: true, result }, events: events ?? [] });
    for (const row of rows)
      decided.set(row.commandId, {
        definition: registry.get(row.type),
        outcome: row.outcome as CommandOutcome,
        events: row.events as DomainEvent[],
      });
    return decided;
  }

  async function applyChunk(records: KafkaMessage[], heartbeat: () => Promise<void>, fastPaths: boolean) {
    const startedAt = Date.now();
    const answers: Decision[] = [];
    const deadLetters: DeadLetter[] = [];
    const decoded = records.map((record) => ({ record, ...decode(record) }));
    const decisions: Array<{ type: string; ok: boolean }> = [];

    await options.db.transaction(async (tx) => {
      const decided = await findDecided(
        tx,
        decoded.flatMap((d) => ("command" in d ? [d.command] : [])),
      );
      const newlyDecided: Array<typeof commandLog.$inferInsert> = [];
      const decide = (
        definition: AnyCommand,
        command: CommandEnvelope,
        outcome: CommandOutcome,
        events: DomainEvent[] = [],
      ) => {
        decisions.push({ type: command.type, ok: outcome.ok });
        const decision = { definition, outcome, events };
        answers.push(decision);
        decided.set(command.id, decision);
        // A success of a command that is its own record is found by findApplied instead.
        if (!(outcome.ok && definition.findApplied))
          newlyDecided.push({ commandId: command.id, type: command.type, outcome, events });
      };
      const reject = (command: CommandEnvelope, code: ErrorCode, message: string) =>
        answers.push({ outcome: { commandId: command.id, ok: false, error: { code, message } }, events: [] });
      const toOutcome = (command: CommandEnvelope, error: AppError): CommandOutcome => ({
        commandId: command.id,
        ok: false,
        error: { code: error.code, message: error.message },
      });

      // Consecutive commands of one type with a fast path are applied together, in order.
      let run: { definition: AnyCommand; commands: CommandEnvelope[]; ids: Set<string> } | null = null;
      const flush = async () => {
        if (!run) return;
        const { definition, commands } = run;
        run = null;
        const results = await definition.applyMany!(tx, commands);
        results.forEach((r, i) => {
          const command = commands[i]!;
          if (r.ok)
            decide(
              definition,
              command,
              { commandId: command.id, ok: true, result: r.applied.result },
              r.applied.events,
            );
          else decide(definition, command, toOutcome(command, r.error));
        });
        await heartbeat();
      };

      for (const item of decoded) {
        if ("reason" in item) {
          deadLetters.push({ message: item.record, reason: item.reason });
          continue;
        }
        const { command, record } = item;
        if (run?.ids.has(command.id)) await flush(); // a duplicate: answer it from the first
        const previous = decided.get(command.id);
        if (previous) {
          answers.push(previous);
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
        if (fastPaths && definition.applyMany) {
          if (run && run.definition !== definition) await flush();
          run ??= { definition, commands: [], ids: new Set() };
          run.commands.push({ ...command, payload: payload.data });
          run.ids.add(command.id);
          continue;
        }
        await flush();
        try {
          const applied = await tx.transaction((savepoint) =>
            definition.apply(savepoint, { ...command, payload: payload.data }),
          );
          decide(definition, command, { commandId: command.id, ok: true, result: applied.result }, applied.events);
          await heartbeat(); // throttled by kafkajs; keeps a long batch from costing the partition
        } catch (error) {
          if (error instanceof AppError) {
            decide(definition, command, toOutcome(command, error));
          } else if (isPermanentDatabaseError(error)) {
            logger.error({ err: error, commandId: command.id, type: command.type }, "command can never be applied");
            deadLetters.push({ message: record, reason: `database rejected it: ${(error as Error).message}` });
            reject(command, "INTERNAL_SERVER_ERROR", `command ${command.id} could not be applied`);
          } else {
            throw error; // transient: the whole batch rolls back and is retried
          }
        }
      }
      await flush();
      if (newlyDecided.length > 0) await tx.insert(commandLog).values(newlyDecided);
    });

    const dlqMessages: Message[] = deadLetters.map(({ message, reason }) => ({
      key: message.key,
      value: message.value,
      headers: { ...message.headers, "dlq-reason": reason, "dlq-offset": message.offset },
    }));
    // When each command was produced, and when this chunk was taken up and committed: the
    // stages of a message's latency, for the bench and for anyone tracing a slow delivery.
    const committedAt = Date.now();
    const producedAt = new Map(decoded.flatMap((d) => ("command" in d ? [[d.command.id, d.record.timestamp]] : [])));
    const trace = (commandId: string) => `${producedAt.get(commandId) ?? ""},${startedAt},${committedAt}`;
    await producer!.sendBatch({
      acks: ACKS_ALL,
      topicMessages: [
        { topic: topics.events, messages: answers.flatMap((a) => eventRecords(a, trace(a.outcome.commandId))) },
        { topic: topics.deadLetters, messages: dlqMessages },
      ].filter((t) => t.messages.length > 0),
    });
    for (const d of deadLetters) logger.warn({ offset: d.message.offset, reason: d.reason }, "command dead-lettered");
    // Counted only once the batch is committed and published, so retries do not inflate them.
    const { metrics } = options;
    metrics.batchSize.observe(records.length);
    metrics.commandsDeadLettered.inc(deadLetters.length);
    for (const d of decisions) metrics.commandsApplied.inc({ type: d.type, result: d.ok ? "ok" : "rejected" });
  }

  return {
    async start() {
      producer = options.kafka.producer({
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      consumer = options.kafka.consumer({
        groupId: options.groupId,
        allowAutoTopicCreation: false,
        retry: KAFKA_RETRY,
        ...commandFetch(options.fetchWaitMs),
        // How soon a dead worker's partitions move to the others.
        sessionTimeout: options.sessionTimeoutMs,
        heartbeatInterval: Math.floor(options.sessionTimeoutMs / 3),
      });
      // After a rebalance our pending offsets may be for partitions another worker now owns:
      // drop them (their commands are redelivered, which is idempotent) rather than commit.
      consumer.on(consumer.events.GROUP_JOIN, () => uncommitted.clear());
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        logger.error({ err: payload.error, restart: payload.restart }, "command consumer crashed");
        if (!payload.restart) options.onFatal(payload.error);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: topics.commands, fromBeginning: true });
      const applyGrouped = groupCommit(options.transactionSize, applyBatch);
      await consumer.run({
        eachBatchAutoResolve: false,
        // Offsets are committed once a second (commitApplied), not after every batch as
        // kafkajs's autoCommit would (an OffsetCommit request per batch): a crash or a
        // rebalance redelivers at most that much, and redelivery is idempotent.
        autoCommit: false,
        // Partitions hold different rooms, so their batches can be applied side by side.
        partitionsConsumedConcurrently: options.concurrency,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          // Chunks of at most transactionSize commands, grouped with other partitions' chunks
          // into one transaction: large enough to amortize the commit, small enough to keep
          // transactions and redelivery after a crash short.
          for (let start = 0; start < batch.messages.length; start += options.transactionSize) {
            const chunk = batch.messages.slice(start, start + options.transactionSize);
            // A transient failure (database or broker away) retries the same chunk, so a
            // partition's commands are never skipped or reordered. We only give up when the
            // partition is taken away or the worker stops; its next owner redoes the chunk.
            for (let attempt = 1; ; attempt++) {
              if (!isRunning() || isStale()) return;
              try {
                await applyGrouped(chunk, heartbeat);
                break;
              } catch (error) {
                const delayMs = Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), RETRY_MAX_MS);
                logger.warn({ err: error, attempt, delayMs, partition: batch.partition }, "batch failed; retrying");
                options.metrics.batchRetries.inc();
                await waitWithHeartbeats(delayMs, heartbeat, isRunning);
              }
            }
            const offset = chunk.at(-1)!.offset;
            resolveOffset(offset);
            uncommitted.set(batch.partition, {
              topic: batch.topic,
              partition: batch.partition,
              offset: (BigInt(offset) + 1n).toString(),
            });
            await heartbeat();
          }
        },
      });
      commitTimer = setInterval(() => void commitApplied(), 1000);
      logger.info({ topic: topics.commands, groupId: options.groupId }, "command worker running");
    },

    async stop() {
      clearInterval(commitTimer);
      await commitApplied();
      await consumer?.disconnect();
      await producer?.disconnect();
      consumer = producer = null;
    },
  };
}
