/**
 * The worker's Kafka adapter: fetches `chat.commands`, hands chunks to the core
 * (applyCommands.ts), publishes the answers and dead letters, and only then commits the
 * offsets. A crash anywhere in between redelivers the chunk, which the core answers from
 * what it recorded: nothing is lost or doubled.
 */
import {
  Partitioners,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Message,
  type Producer,
} from "kafkajs";
import type { Database } from "../db/client.js";
import { databaseFailure, type DatabaseFailure } from "../db/errors.js";
import { eventHeaders, OUTCOMES_CHANNEL, channelOf, keyOf, type DomainEvent } from "../commands/protocol.js";
import type { Logger } from "../shared/logger.js";
import type { Metrics } from "../shared/metrics.js";
import { ACKS_ALL, KAFKA_RETRY, partitionCount, type Topics } from "../kafka/client.js";
import { applyCommands, type Answer, type CommandRegistry, type Verdict } from "./applyCommands.js";
import { groupCommit, type Heartbeat } from "./groupCommit.js";
import { contextOf, failed, messagingAttributes, SpanKind, tracing, type Span } from "../shared/tracing.js";

export interface CommandWorkerOptions {
  kafka: Kafka;
  topics: Topics;
  groupId: string;
  db: Database;
  /** The command types this worker applies, and what their handlers are given. */
  commands: CommandRegistry;
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

/** A fetched command record with its partition (a chunk may hold several partitions' records). */
type FetchedCommand = KafkaMessage & { partition: number };

const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 5_000;
/** The widest first wait after a lost lock race; it doubles with each attempt. */
const CONTENDED_SPREAD_MS = 50;

/**
 * How long to wait before trying a failed chunk again. A lost lock race is tried again soon,
 * after a random wait: when two workers' chunks wait on each other, both fail at lock_timeout
 * at the same moment, and after equal waits they would meet the same way again, attempt after
 * attempt (the cause that fits a 3.3 s stall of both workers' commands in the abuse suite). Any
 * other failure (the database away) backs off exponentially.
 */
export function retryDelayMs(attempt: number, failure: DatabaseFailure["kind"], random = Math.random): number {
  if (failure === "contended") {
    return Math.floor(random() * Math.min(CONTENDED_SPREAD_MS * 2 ** (attempt - 1), RETRY_MAX_MS));
  }
  return Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), RETRY_MAX_MS);
}

async function waitWithHeartbeats(ms: number, heartbeat: Heartbeat, isRunning: () => boolean) {
  const until = Date.now() + ms;
  while (Date.now() < until && isRunning()) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, until - Date.now())));
    await heartbeat();
  }
}

/**
 * The records that publish an answer on `chat.events`: a success whose result its single
 * event carries is that event alone, marked `outcome-of`; anything else is an outcome record
 * followed by the events.
 */
function eventRecords(
  { definition, outcome, events }: Answer,
  trace: string,
  place: FeedPlace,
  traceContext: Record<string, string> = {},
): Message[] {
  const record = (event: DomainEvent, index: number, headers: Record<string, string> = traceContext): Message => ({
    key: keyOf(event),
    value: JSON.stringify(event),
    // A room event goes to the events partition numbered as its command's (modulo their
    // count), not to its key's: each partition of chat.events then holds the room events of
    // whole partitions of commands, in command order, which is what lets a feed's cursor be
    // a position per partition (src/features/live/positions.ts). A room stays in one partition.
    ...("roomId" in event ? { partition: place.partition % place.eventPartitions } : {}),
    headers: {
      [eventHeaders.channel]: channelOf(event),
      [eventHeaders.type]: event.type,
      [eventHeaders.trace]: trace,
      ...("roomId" in event ? { [eventHeaders.position]: `${place.partition}:${place.offset}:${index}` } : {}),
      ...headers,
    },
  });
  if (outcome.ok && events.length === 1 && definition?.resultOf?.(events[0]!) !== undefined)
    return [record(events[0]!, 0, { ...traceContext, [eventHeaders.outcomeOf]: outcome.commandId })];
  return [
    {
      key: outcome.commandId,
      value: JSON.stringify(outcome),
      headers: { [eventHeaders.channel]: OUTCOMES_CHANNEL, [eventHeaders.type]: "Outcome" },
    },
    ...events.map((event, i) => record(event, i)),
  ];
}

/** While tracing: a `process` span per traced command record, a child of its `send` span in the API. */
function processSpans(topic: string, records: FetchedCommand[]): Array<Span | undefined> {
  return records.map(({ headers, partition, offset, key }) =>
    headers?.traceparent
      ? tracing.begin(() => ({
          name: `process ${topic}`,
          kind: SpanKind.CONSUMER,
          parent: tracing.extract(headers),
          attributes: messagingAttributes(topic, "process", { partition, offset, key: key?.toString() }),
        }))
      : undefined,
  );
}

/**
 * The chunk's own span (its transaction, statements and publish beneath it): a chunk applies
 * many commands of many traces, so it is the child of the first traced one and linked from
 * the others (OpenTelemetry's way for batches; Zipkin shows the parent only).
 */
function chunkSpan(spans: Array<Span | undefined>, size: number, fn: () => Promise<void>) {
  const traced = spans.filter((s): s is Span => s !== undefined);
  if (traced.length === 0) return fn();
  const chunk = () => ({
    name: "apply commands",
    parent: contextOf(traced[0]!),
    links: traced.slice(1).map((s) => ({ context: s.spanContext() })),
    attributes: { "messaging.batch.message_count": size },
  });
  return tracing.span(chunk, fn);
}

/** Where a command stood in chat.commands, and how many partitions chat.events has. */
interface FeedPlace {
  partition: number;
  offset: string;
  eventPartitions: number;
}

/** The dead-letter record of a command that can never be applied: the original, with why. */
const deadLetterRecord = (record: KafkaMessage, reason: string): Message => ({
  key: record.key,
  value: record.value,
  headers: { ...record.headers, "dlq-reason": reason, "dlq-offset": record.offset },
});

/**
 * Offsets applied but not yet committed, per partition. kafkajs commits only when asked
 * during a batch; a timer commits these once a second, so an idle worker's offsets (and the
 * lag metric) catch up too. Losing one (a rebalance) only means redelivery.
 */
function pendingOffsets(logger: Logger) {
  const uncommitted = new Map<number, { topic: string; partition: number; offset: string }>();
  return {
    applied(topic: string, partition: number, offset: string) {
      uncommitted.set(partition, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
    },
    clear: () => uncommitted.clear(),
    async commit(consumer: Consumer | null) {
      if (!consumer || uncommitted.size === 0) return;
      const offsets = [...uncommitted.values()];
      uncommitted.clear();
      await consumer.commitOffsets(offsets).catch((error: unknown) => {
        logger.debug({ err: error }, "could not commit offsets; the partitions' next owner redoes them");
      });
    },
  };
}

/**
 * Applies commands from `chat.commands` in chunks of at most `transactionSize`, grouped
 * across partitions into one transaction and one produce request (groupCommit.ts).
 */
export class CommandConsumer {
  private readonly offsets: ReturnType<typeof pendingOffsets>;
  private readonly applyGrouped: (records: FetchedCommand[], heartbeat: Heartbeat) => Promise<void>;
  /** chat.events' partition count, read at start (see roomEventPlace). */
  private eventPartitions = 1;
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private commitTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: CommandWorkerOptions) {
    this.offsets = pendingOffsets(options.logger);
    this.applyGrouped = groupCommit(options.transactionSize, (records, heartbeat) =>
      this.applyChunk(records, heartbeat),
    );
  }

  async start() {
    const { kafka, topics, logger } = this.options;
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await this.producer.connect();
    this.eventPartitions = await partitionCount(kafka, topics.events);
    const consumer = (this.consumer = kafka.consumer({
      groupId: this.options.groupId,
      allowAutoTopicCreation: false,
      retry: KAFKA_RETRY,
      ...commandFetch(this.options.fetchWaitMs),
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: Math.floor(this.options.sessionTimeoutMs / 3),
    }));
    // After a rebalance our pending offsets may be for partitions another worker now owns:
    // drop them (their commands are redelivered, which is idempotent) rather than commit.
    consumer.on(consumer.events.GROUP_JOIN, () => this.offsets.clear());
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.error({ err: payload.error, restart: payload.restart }, "command consumer crashed");
      if (!payload.restart) this.options.onFatal(payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.commands, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      // Offsets are committed once a second, not after every batch as kafkajs's autoCommit
      // would (an OffsetCommit request per batch): a crash or a rebalance redelivers at
      // most that much, and redelivery is idempotent.
      autoCommit: false,
      // Partitions hold different rooms, so their batches can be applied side by side.
      partitionsConsumedConcurrently: this.options.concurrency,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.commitTimer = setInterval(() => void this.offsets.commit(this.consumer), 1000);
    logger.info({ topic: topics.commands, groupId: this.options.groupId }, "command worker running");
  }

  async stop() {
    clearInterval(this.commitTimer);
    await this.offsets.commit(this.consumer);
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    this.consumer = this.producer = null;
  }

  /**
   * A partition's batch, chunk by chunk. A failed chunk (database or broker away) is tried
   * again, so a partition's commands are never skipped or reordered; we only give up when
   * the partition is taken away or the worker stops, and its next owner redoes the chunk.
   */
  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const size = this.options.transactionSize;
    for (let start = 0; start < batch.messages.length; start += size) {
      const chunk = batch.messages.slice(start, start + size).map((m) => ({ ...m, partition: batch.partition }));
      for (let attempt = 1; ; attempt++) {
        if (!isRunning() || isStale()) return;
        try {
          await this.applyGrouped(chunk, heartbeat);
          break;
        } catch (error) {
          const delayMs = retryDelayMs(attempt, databaseFailure(error).kind);
          this.options.logger.warn(
            { err: error, attempt, delayMs, partition: batch.partition },
            "batch failed; retrying",
          );
          this.options.metrics.batchRetries.inc();
          await waitWithHeartbeats(delayMs, heartbeat, isRunning);
        }
      }
      resolveOffset(chunk.at(-1)!.offset);
      this.offsets.applied(batch.topic, batch.partition, chunk.at(-1)!.offset);
      await heartbeat();
    }
  }

  /** Decides a chunk, publishes what it decided; throws when the chunk must be tried again. */
  private async applyChunk(records: FetchedCommand[], heartbeat: Heartbeat) {
    const spans = tracing.on ? processSpans(this.options.topics.commands, records) : [];
    try {
      await chunkSpan(spans, records.length, () => this.decideAndPublish(records, heartbeat, spans));
    } catch (error) {
      spans.forEach((span) => failed(span, error));
      throw error;
    } finally {
      spans.forEach((span) => span?.end());
    }
  }

  private async decideAndPublish(records: FetchedCommand[], heartbeat: Heartbeat, spans: Array<Span | undefined>) {
    const { db, logger } = this.options;
    const startedAt = Date.now();
    const decision = await applyCommands(db, this.options.commands, records, { progress: heartbeat, logger });
    if (decision.kind === "retry") throw decision.error;
    await this.publish(records, decision.verdicts, startedAt, spans);
    this.count(records, decision.verdicts);
    if (logger.isLevelEnabled("debug"))
      logger.debug(
        { commands: decision.verdicts.map((v, i) => `${records[i]!.offset}:${v.answer?.outcome.commandId}:${v.kind}`) },
        "chunk applied and answered",
      );
  }

  private async publish(
    records: FetchedCommand[],
    verdicts: Verdict[],
    startedAt: number,
    spans: Array<Span | undefined>,
  ) {
    // When each command was produced, and when this chunk was taken up and committed: the
    // stages of a message's latency, for the bench and for anyone tracing a slow delivery.
    const trace = (record: KafkaMessage) => `${record.timestamp},${startedAt},${Date.now()}`;
    const eventPartitions = this.eventPartitions;
    const answers = verdicts.flatMap((v, i) => {
      const { partition, offset } = records[i]!;
      if (!v.answer) return [];
      // An event's deliveries continue its command's trace.
      const traceContext = spans[i] ? tracing.inject({}, spans[i]) : undefined;
      return eventRecords(v.answer, trace(records[i]!), { partition, offset, eventPartitions }, traceContext);
    });
    const deadLetters = verdicts.flatMap((v, i) =>
      v.kind === "deadLetter" ? [deadLetterRecord(records[i]!, v.reason)] : [],
    );
    const { events } = this.options.topics;
    const send = () => ({
      name: `send ${events}`,
      kind: SpanKind.PRODUCER,
      attributes: messagingAttributes(events, "send", { count: answers.length }),
    });
    await tracing.span(send, () =>
      this.producer!.sendBatch({
        acks: ACKS_ALL,
        topicMessages: [
          { topic: events, messages: answers },
          { topic: this.options.topics.deadLetters, messages: deadLetters },
        ].filter((t) => t.messages.length > 0),
      }),
    );
  }

  /** Counted only once the chunk is committed and published, so retries do not inflate them. */
  private count(records: FetchedCommand[], verdicts: Verdict[]) {
    const { metrics, logger } = this.options;
    metrics.batchSize.observe(records.length);
    for (const [i, verdict] of verdicts.entries()) {
      if (verdict.kind === "deadLetter") {
        metrics.commandsDeadLettered.inc();
        logger.warn({ offset: records[i]!.offset, reason: verdict.reason }, "command dead-lettered");
      } else if (verdict.kind !== "replayed") {
        const type = verdict.answer.definition!.type;
        metrics.commandsApplied.inc({ type, result: verdict.kind === "applied" ? "ok" : "rejected" });
      }
    }
  }
}
