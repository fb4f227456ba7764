import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { KafkaPubSub } from "graphql-kafkajs-subscriptions";
import { Partitioners, type Consumer, type Kafka, type KafkaMessage } from "kafkajs";
import type { z } from "zod";
import { AppError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { messagingAttributes, SpanKind, tracing } from "../shared/tracing.js";
import {
  commandOutcome,
  eventHeaders,
  OUTCOMES_CHANNEL,
  PRESENCE_CHANNEL,
  presenceReport,
  ROOM_CHANNEL_PREFIX,
  roomChannel,
  roomEvent,
  type CommandAnswer,
  type PresenceReport,
  type RoomEvent,
  type RoomEventOf,
  userEvent,
  USERS_CHANNEL,
} from "../commands/protocol.js";
import { identifyEvent } from "../commands/eventIdentity.js";
import {
  isAfter,
  parsePosition,
  setPositionOf,
  type EventPosition,
  type Place,
  type Positions,
} from "../commands/positions.js";
import type { EventBus } from "../commands/ports.js";
import { BoundedQueue } from "../shared/boundedQueue.js";
import { ACKS_ALL, KAFKA_RETRY } from "../kafka/client.js";

export interface EventBusOptions {
  kafka: Kafka;
  topic: string;
  /** Prefix of this process's own consumer group. */
  groupPrefix: string;
  logger: Logger;
  /** Undelivered events one subscription may hold before it is ended. */
  queueLimit: number;
  /** Observes each room event once per process, before it is handed to its subscribers. */
  onRoomEvent?: (event: RoomEvent) => void;
  /**
   * After this long without anyone to serve (no demand, no subscription, no `awake()` call)
   * the consumer pauses; 0: never. Traffic the process does not serve then costs it nothing.
   */
  idlePauseMs: number;
  /** Where the workers' committed positions are read at start (the feed's first positions). */
  commands?: { topic: string; workerGroup: string };
}

/**
 * An event consumer that has not completed a fetch for this long is stuck (every fetch returns
 * within 250 ms, records or not): it is started again, its subscribers kept.
 */
const STALLED_AFTER_MS = 30_000;

const keyPartitioner = Partitioners.DefaultPartitioner();

const AWAKE = Promise.resolve();

/** A channel's listener: a function, or a queue the event is pushed to (no closure per subscription). */
type Listener = ((record: unknown) => void) | { push(record: unknown): void };

/**
 * Our wrapper over graphql-kafkajs-subscriptions' KafkaPubSub on `chat.events`. It fixes
 * the library's defects for this product: a group id unique to this process (so every API
 * process receives every event, instead of the default `prefix-0` group splitting them),
 * JSON decoded and validated once per record (not per subscriber), bounded queues per
 * subscription, a consumer that is started again when it stalls or crashes, and a stop()
 * that disconnects the consumer and producer it hides.
 */
class KafkaEventBus implements EventBus {
  private readonly groupId: string;
  private pubsub: KafkaPubSub | null = null;
  private isConnected = false;
  private watchdog: NodeJS.Timeout | undefined;
  private lastFetchAt = Date.now();
  private restarting = false;
  /** channel -> (KafkaPubSub subscription id, local listeners) */
  private readonly channels = new Map<string, { id: Promise<number>; listeners: Set<Listener> }>();
  private readonly queues = new Set<RoomQueue>();
  private answers: {
    awaits: (commandId: string) => boolean;
    listener: (id: string, answer: CommandAnswer) => void;
  } | null = null;
  private roomFeed: { wants: (roomId: string, type: string) => boolean; listener: (event: RoomEvent) => void } | null =
    null;
  /** A record reaches both a channel's listeners and the answer hook: it is decoded once. */
  private readonly decodedRecords = new WeakMap<KafkaMessage, unknown>();
  /** Per partition of commands, the place of the last stored room event read (see positions.ts). */
  private currentPositions = new Map<number, Place>();
  /** `positions` handed the current map out: the next change copies it first (feeds keep snapshots). */
  private positionsShared = false;
  /** Each record's `position` header, read once in `route`. */
  private readonly recordPositions = new WeakMap<KafkaMessage, EventPosition>();
  private commandPartitions = 1;
  private demand: () => boolean = () => true;
  private servedAt = Date.now();
  /** The consumer is paused (see idlePauseMs); `awake()` seeks it to the end and resumes it. */
  private dormant = false;
  private waking: Promise<void> | null = null;
  private dormancyCheck: NodeJS.Timeout | undefined;
  private readonly resumeListeners = new Set<() => void>();

  constructor(private readonly options: EventBusOptions) {
    this.groupId = `${options.groupPrefix}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  get connected() {
    return this.isConnected;
  }

  get paused() {
    return this.dormant;
  }

  get subscriptionCount() {
    return this.queues.size;
  }

  get positions(): Positions {
    this.positionsShared = true;
    return this.currentPositions;
  }

  /** The partition of chat.commands whose commands carry `key` (kafkajs's default partitioner, as producers use). */
  commandPartitionOf(key: string) {
    const partitionMetadata = Array.from({ length: this.commandPartitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
    }));
    return keyPartitioner({ topic: "", partitionMetadata, message: { key } } as never);
  }

  async start() {
    const { kafka, topic, logger } = this.options;
    // KafkaPubSub.create() would run the consumer with kafkajs's defaults, which commit
    // offsets after every batch: one more broker request per fetch. We build it and run its
    // consumer ourselves, committing at most once a second (the group is this process's
    // own; after a restart it resumes at most a second back, and subscribers drop what they
    // saw by seq).
    const build = KafkaPubSub as unknown as new (input: Parameters<typeof KafkaPubSub.create>[0]) => KafkaPubSub;
    const pubsub = (this.pubsub = new build({
      kafka,
      topic,
      // The first fetch returns after 250 ms at most: it bounds how long start() waits to be
      // positioned. After a fetch that found nothing, the next waits up to a second for the
      // first event (it returns as soon as one is there; kafkajs patched): an idle process asks
      // the broker once a second, not four times. A stop waits for that fetch, so it bounds that too.
      consumerConfig: {
        groupId: this.groupId,
        maxWaitTimeInMs: 250,
        idleMaxWaitTimeInMs: 1000,
        allowAutoTopicCreation: false,
        retry: KAFKA_RETRY,
      },
      producerConfig: { allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner },
    }));
    const consumer: Consumer = pubsub["consumer"];
    this.watch(consumer);
    // Events published before start are not for us, events after it must not be missed:
    // the group starts with every partition's latest offset committed, so a rejoin while
    // the coordinator moves resumes there rather than at a newer "latest".
    await commitLatestOffsets(kafka, this.groupId, topic);
    await this.takeWorkersPositions();
    const positioned = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.FETCH, () => {
        off();
        resolve();
      });
    });
    // The producer is for ephemeral events (typing, presence): commands go through the command bus.
    await Promise.all([consumer.connect(), pubsub["producer"].connect()]);
    await consumer.subscribe({ topic });
    await this.run(consumer);
    await positioned;
    this.isConnected = true;
    this.dormancyCheck = setInterval(() => this.sleepIfUnserved(), 1000).unref();
    logger.info({ topic, groupId: this.groupId }, "event bus ready");
  }

  async stop() {
    clearInterval(this.watchdog);
    clearInterval(this.dormancyCheck);
    for (const queue of this.queues) void queue.return();
    if (!this.pubsub) return;
    const consumer = this.pubsub["consumer"];
    const producer = this.pubsub["producer"];
    this.pubsub = null;
    this.isConnected = false;
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    // The group only ever belonged to this process: remove it rather than leave it to expire.
    const admin = this.options.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.groupId]);
    } catch (error) {
      this.options.logger.debug({ err: error, groupId: this.groupId }, "could not delete event consumer group");
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  subscribeRoom(roomId: string, onOverflow?: () => void) {
    this.live();
    const queue = new RoomQueue(this, this.options.queueLimit, roomId, onOverflow);
    this.queues.add(queue);
    this.listen(roomChannel(roomId), roomEvent, queue, this.options.onRoomEvent);
    return queue;
  }

  /** A subscriber fell too far behind: why its queue ends. */
  overflowError(roomId: string): AppError {
    const { queueLimit, logger } = this.options;
    logger.warn({ roomId, limit: queueLimit }, "subscriber fell too far behind; disconnecting it");
    return new AppError(
      "SERVICE_UNAVAILABLE",
      `subscription fell more than ${queueLimit} events behind; subscribe again with afterSeq to resume`,
    );
  }

  /** A room queue ended: it no longer receives its room's events. */
  queueEnded(queue: RoomQueue) {
    this.queues.delete(queue);
    this.unlisten(roomChannel(queue.roomId), queue);
  }

  onUserChanged(listener: (userId: string) => void) {
    this.live();
    return this.listen(USERS_CHANNEL, userEvent, (event) => listener(event.userId));
  }

  onRoomEvents(wants: (roomId: string, type: string) => boolean, listener: (event: RoomEvent) => void) {
    this.roomFeed = { wants, listener };
    return () => void (this.roomFeed = null);
  }

  onPresence(listener: (report: PresenceReport) => void) {
    this.live();
    return this.listen(PRESENCE_CHANNEL, presenceReport, listener);
  }

  async publish(event: RoomEventOf<"Typing"> | PresenceReport) {
    const [key, channel] =
      event.type === "PresenceReport" ? [event.processId, PRESENCE_CHANNEL] : [event.roomId, roomChannel(event.roomId)];
    await this.live()["producer"].send({
      topic: this.options.topic,
      acks: ACKS_ALL,
      messages: [
        {
          key,
          value: JSON.stringify(event),
          headers: { [eventHeaders.channel]: channel, [eventHeaders.type]: event.type },
        },
      ],
    });
  }

  onAnswer(awaits: (commandId: string) => boolean, listener: (commandId: string, answer: CommandAnswer) => void) {
    this.live();
    this.answers = { awaits, listener };
    const unlisten = this.listen(OUTCOMES_CHANNEL, commandOutcome, (outcome) =>
      listener(outcome.commandId, { outcome }),
    );
    return () => {
      this.answers = null;
      unlisten();
    };
  }

  setDemand(demand: () => boolean) {
    this.demand = demand;
  }

  awake(): Promise<void> {
    this.servedAt = Date.now();
    if (!this.dormant) return AWAKE; // per request and per command: no promise made
    this.waking ??= this.wake()
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error }, "could not resume the event consumer");
        throw new AppError("SERVICE_UNAVAILABLE", "the event stream is not connected; try again");
      })
      .finally(() => (this.waking = null));
    return this.waking;
  }

  onResume(listener: () => void) {
    this.resumeListeners.add(listener);
    return () => void this.resumeListeners.delete(listener);
  }

  /** Whether anyone here may want events soon: someone does (or a subscription is open), or did lately. */
  private served() {
    const now = Date.now();
    if (this.queues.size > 0 || this.demand()) this.servedAt = now;
    return this.options.idlePauseMs === 0 || now - this.servedAt < this.options.idlePauseMs;
  }

  private sleepIfUnserved() {
    if (this.dormant || this.waking || this.restarting || !this.pubsub || this.served()) return;
    this.pubsub["consumer"].pause([{ topic: this.options.topic }]);
    this.dormant = true;
    this.options.logger.info(
      { idleMs: this.options.idlePauseMs },
      "nobody to serve: the event consumer is paused until a client arrives",
    );
  }

  /**
   * Resumes a paused consumer at the topic's end: every event published from now on reaches
   * this process. What it missed meanwhile is what nobody here subscribed to; the caches that
   * events keep current (sessions, users) are dropped, and positions are the workers' again.
   */
  private async wake() {
    const { kafka, topic, logger } = this.options;
    const consumer = this.live()["consumer"];
    for (const { partition, offset } of await latestOffsets(kafka, topic)) consumer.seek({ topic, partition, offset });
    await this.takeWorkersPositions();
    consumer.resume([{ topic }]);
    this.dormant = false;
    for (const listener of this.resumeListeners) listener();
    logger.info("a client arrived: the event consumer resumed at the end of the topic");
  }

  /**
   * Starting (or resuming) at the end, this process reads nothing the workers published
   * before: what they have committed is taken as read (a feed subscribed now reads current
   * state instead).
   */
  private async takeWorkersPositions() {
    if (!this.options.commands) return;
    const commands = await commandsState(this.options.kafka, this.options.commands);
    for (const [partition, place] of commands.positions) {
      const last = this.currentPositions.get(partition);
      if (last === undefined || isAfter(place, last)) this.setPosition(partition, place);
    }
    this.commandPartitions = commands.partitions;
  }

  /** The running pubsub, or SERVICE_UNAVAILABLE before start and after stop. */
  private live(): KafkaPubSub {
    if (!this.pubsub) throw new AppError("SERVICE_UNAVAILABLE", "the event stream is not connected");
    return this.pubsub;
  }

  /** Tracks the consumer's state, and starts it again when it crashes for good or stalls. */
  private watch(consumer: Consumer) {
    const { logger } = this.options;
    consumer.on(consumer.events.FETCH, () => (this.lastFetchAt = Date.now()));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.error({ err: payload.error, restart: payload.restart }, "event consumer crashed");
      if (!payload.restart) void this.restart(consumer, "the event consumer crashed and kafkajs gave it up");
    });
    consumer.on(consumer.events.DISCONNECT, () => (this.isConnected = false));
    consumer.on(consumer.events.CONNECT, () => (this.isConnected = true));
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastFetchAt > STALLED_AFTER_MS)
        void this.restart(consumer, `no fetch completed for ${STALLED_AFTER_MS / 1000} s`);
    }, 5000).unref();
  }

  private run(consumer: Consumer) {
    return consumer.run({
      autoCommit: false,
      autoCommitInterval: 1000,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }) => {
        for (const message of batch.messages) {
          this.route(message);
          resolveOffset(message.offset);
        }
        // The committed offset only says where a restart resumes: a commit that fails (the
        // group's coordinator is moving) must not make kafkajs fetch and route this batch again.
        await commitOffsetsIfNecessary().catch((error: unknown) =>
          this.options.logger.debug(
            { err: error },
            "could not commit the event consumer's offsets; the next commit will",
          ),
        );
        await heartbeat();
      },
    });
  }

  /**
   * Runs the consumer again in the same group, so it resumes at its last committed offset
   * (at most a second back: subscribers drop what they saw by seq) and every subscription
   * stays open: its clients see a pause, not an error. Until it is running again.
   */
  private async restart(consumer: Consumer, reason: string) {
    if (this.restarting || !this.pubsub) return;
    this.restarting = true;
    const { logger } = this.options;
    logger.warn({ reason, groupId: this.groupId }, "restarting the event consumer; subscriptions stay open");
    for (let attempt = 1; this.pubsub; attempt++) {
      try {
        await consumer.disconnect().catch(() => {});
        await consumer.connect();
        await this.run(consumer);
        // A consumer run again is not paused: it reads on from its committed offsets.
        this.dormant = false;
        break;
      } catch (error) {
        logger.warn({ err: error, attempt }, "could not restart the event consumer; trying again");
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    this.lastFetchAt = Date.now();
    this.restarting = false;
  }

  /** Takes a record's position into account (per record: no copy unless a feed holds the current map). */
  private advance(message: KafkaMessage, position: EventPosition) {
    this.recordPositions.set(message, position);
    const last = this.currentPositions.get(position.partition);
    if (last === undefined || isAfter(position.place, last)) this.setPosition(position.partition, position.place);
  }

  private setPosition(partition: number, place: Place) {
    if (this.positionsShared) {
      this.currentPositions = new Map(this.currentPositions);
      this.positionsShared = false;
    }
    this.currentPositions.set(partition, place);
  }

  private decode<T>(schema: z.ZodType<T>, message: KafkaMessage): T | null {
    if (this.decodedRecords.has(message)) return this.decodedRecords.get(message) as T | null;
    const event = this.parse(schema, message);
    if (event !== null && typeof event === "object") {
      identifyEvent(event, ...("message" in event && typeof event.message === "object" ? [event.message!] : []));
      const position = this.recordPositions.get(message);
      if (position) setPositionOf(event, position);
    }
    this.decodedRecords.set(message, event);
    return event;
  }

  private parse<T>(schema: z.ZodType<T>, message: KafkaMessage): T | null {
    const { logger } = this.options;
    try {
      const parsed = schema.safeParse(JSON.parse(message.value?.toString("utf8") ?? ""));
      if (parsed.success) return parsed.data;
      logger.warn({ offset: message.offset, issues: parsed.error.issues }, "dropping malformed event");
    } catch (error) {
      logger.warn({ offset: message.offset, err: error }, "dropping event that is not JSON");
    }
    return null;
  }

  private listen<T>(
    channel: string,
    schema: z.ZodType<T>,
    listener: ((event: T) => void) | { push(event: T): void },
    onDecoded?: (event: T) => void,
  ) {
    let entry = this.channels.get(channel);
    if (!entry) {
      const listeners = new Set<Listener>();
      const id = this.live().subscribe(channel, (message) => {
        const event = this.decode(schema, message as KafkaMessage);
        if (event === null) return;
        onDecoded?.(event);
        for (const l of listeners) typeof l === "function" ? l(event) : l.push(event);
      });
      entry = { id, listeners };
      this.channels.set(channel, entry);
    }
    const typed = listener as Listener;
    entry.listeners.add(typed);
    return () => this.unlisten(channel, typed);
  }

  private unlisten(channel: string, listener: Listener) {
    const entry = this.channels.get(channel);
    if (!entry?.listeners.delete(listener) || entry.listeners.size > 0) return;
    this.channels.delete(channel);
    void entry.id.then((id) => this.pubsub?.unsubscribe(id));
  }

  /**
   * Every record passes here before KafkaPubSub routes it to its channel's listeners: an
   * event that is a command's outcome is answered even when nobody here subscribes to its
   * room, and outcome records (keyed by command id) of other processes are passed over
   * undecoded.
   */
  private route(message: KafkaMessage) {
    const channel = message.headers?.[eventHeaders.channel]?.toString();
    if (!channel || !this.pubsub) return;
    const position = parsePosition(message.headers?.[eventHeaders.position]?.toString());
    // Before its listeners run: a feed delivering this event hands out positions that include it.
    if (position) this.advance(message, position);
    const { answers, roomFeed } = this;
    const commandId = message.headers?.[eventHeaders.outcomeOf]?.toString();
    if (commandId && answers?.awaits(commandId)) {
      const event = this.decode(roomEvent, message);
      if (event) answers.listener(commandId, { event });
    }
    if (channel === OUTCOMES_CHANNEL && !answers?.awaits(message.key?.toString() ?? "")) return;
    if (roomFeed && channel.startsWith(ROOM_CHANNEL_PREFIX)) {
      const roomId = channel.slice(ROOM_CHANNEL_PREFIX.length);
      if (roomFeed.wants(roomId, message.headers?.[eventHeaders.type]?.toString() ?? "")) {
        const event = this.decode(roomEvent, message);
        if (event) roomFeed.listener(event);
      }
    }
    if (tracing.on && message.headers?.traceparent) return this.deliverTraced(channel, message);
    this.pubsub["onMessage"](channel, message);
  }

  /**
   * While tracing, an event some subscriber here wants is handed to them in one span, a
   * child of the worker's span for its command: one span per event and process, however
   * many subscribers share it (their count is an attribute).
   */
  private deliverTraced(channel: string, message: KafkaMessage) {
    const pubsub = this.pubsub!;
    const subscribers = (pubsub["channelSubscriptions"] as Record<string, Set<number>>)[channel]?.size ?? 0;
    if (subscribers === 0) return pubsub["onMessage"](channel, message);
    const span = tracing.begin(() => ({
      name: `process ${this.options.topic}`,
      kind: SpanKind.CONSUMER,
      parent: tracing.extract(message.headers),
      attributes: {
        ...messagingAttributes(this.options.topic, "process", { offset: message.offset }),
        "chat.subscribers": subscribers,
      },
    }));
    try {
      pubsub["onMessage"](channel, message);
    } finally {
      span?.end();
    }
  }
}

/** One subscription's queue of a room's events (a class, not closures: every idle subscription keeps one). */
class RoomQueue extends BoundedQueue<RoomEvent> {
  constructor(
    private readonly bus: KafkaEventBus,
    limit: number,
    readonly roomId: string,
    private readonly onSlowReader: (() => void) | undefined,
  ) {
    super(limit);
  }

  protected override overflowed() {
    const error = this.bus.overflowError(this.roomId);
    this.onSlowReader?.();
    return error;
  }

  protected override closed() {
    this.bus.queueEnded(this);
  }
}

export const createEventBus = (options: EventBusOptions): EventBus => new KafkaEventBus(options);

/**
 * How many partitions chat.commands has, and per partition the last command the workers
 * committed (its events were published before), as a place past all of that command's events.
 */
async function commandsState(kafka: Kafka, { topic, workerGroup }: { topic: string; workerGroup: string }) {
  const admin = kafka.admin({ retry: KAFKA_RETRY });
  try {
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: workerGroup, topics: [topic] });
    const positions = new Map<number, Place>();
    for (const { partition, offset } of committed?.partitions ?? [])
      if (Number(offset) > 0) positions.set(partition, [Number(offset) - 1, Number.MAX_SAFE_INTEGER]);
    return { positions, partitions: Math.max(1, committed?.partitions.length ?? 1) };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Each partition's end offset (where the next record will be written). */
async function latestOffsets(kafka: Kafka, topic: string) {
  const admin = kafka.admin({ retry: KAFKA_RETRY });
  try {
    await admin.connect();
    return (await admin.fetchTopicOffsets(topic)).map(({ partition, offset }) => ({ partition, offset }));
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Commits each partition's end offset for a group that has no members yet. A partition
 * whose leader is still being elected (a topic just created, a broker just lost) is asked
 * again with fresh metadata (kafkajs's fetchTopicOffsets gives up on that at once).
 */
async function commitLatestOffsets(kafka: Kafka, groupId: string, topic: string) {
  const deadline = Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    const admin = kafka.admin({ retry: KAFKA_RETRY });
    try {
      await admin.connect();
      return await admin.setOffsets({ groupId, topic, partitions: await latestOffsets(kafka, topic) });
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(100 * attempt, 1000)));
  }
}
