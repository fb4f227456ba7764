import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { KafkaPubSub } from "graphql-kafkajs-subscriptions";
import { Partitioners, type Consumer, type Kafka, type KafkaMessage } from "kafkajs";
import type { z } from "zod";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
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
  type RoomEvent,
  userEvent,
  USERS_CHANNEL,
} from "../commands/protocol.js";
import { identifyEvent } from "../commands/eventIdentity.js";
import type { EventBus } from "../commands/ports.js";
import { BoundedQueue } from "../boundedQueue.js";
import { ACKS_ALL, KAFKA_RETRY } from "./client.js";

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
}

/**
 * An event consumer that has not completed a fetch for this long is stuck (every fetch returns
 * within 250 ms, records or not): it is started again, its subscribers kept.
 */
const STALLED_AFTER_MS = 30_000;

/**
 * Our wrapper over graphql-kafkajs-subscriptions' KafkaPubSub on `chat.events`. It fixes
 * the library's defects for this product: a group id unique to this process (so every API
 * process receives every event, instead of the default `prefix-0` group splitting them),
 * JSON decoded and validated once per record (not per subscriber), bounded queues per
 * subscription, and a stop() that disconnects the consumer and producer it hides.
 */
export function createEventBus(options: EventBusOptions): EventBus {
  const { logger } = options;
  const groupId = `${options.groupPrefix}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  let pubsub: KafkaPubSub | null = null;
  let connected = false;
  let watchdog: NodeJS.Timeout | undefined;
  /** channel -> (KafkaPubSub subscription id, local listeners) */
  const channels = new Map<string, { id: Promise<number>; listeners: Set<(record: unknown) => void> }>();
  const queues = new Set<BoundedQueue<RoomEvent>>();
  let answers: {
    awaits: (commandId: string) => boolean;
    listener: (id: string, answer: CommandAnswer) => void;
  } | null = null;
  let roomFeed: {
    wants: (roomId: string, type: string) => boolean;
    listener: (event: RoomEvent) => void;
  } | null = null;
  /** A record reaches both a channel's listeners and the answer hook: it is decoded once. */
  const decodedRecords = new WeakMap<KafkaMessage, unknown>();

  function decode<T>(schema: z.ZodType<T>, message: KafkaMessage): T | null {
    if (decodedRecords.has(message)) return decodedRecords.get(message) as T | null;
    const event = parse(schema, message);
    if (event !== null && typeof event === "object")
      identifyEvent(event, ...("message" in event && typeof event.message === "object" ? [event.message!] : []));
    decodedRecords.set(message, event);
    return event;
  }

  function parse<T>(schema: z.ZodType<T>, message: KafkaMessage): T | null {
    try {
      const parsed = schema.safeParse(JSON.parse(message.value?.toString("utf8") ?? ""));
      if (parsed.success) return parsed.data;
      logger.warn({ offset: message.offset, issues: parsed.error.issues }, "dropping malformed event");
    } catch (error) {
      logger.warn({ offset: message.offset, err: error }, "dropping event that is not JSON");
    }
    return null;
  }

  function listen<T>(
    channel: string,
    schema: z.ZodType<T>,
    listener: (event: T) => void,
    onDecoded?: (event: T) => void,
  ): () => void {
    let entry = channels.get(channel);
    if (!entry) {
      const listeners = new Set<(record: unknown) => void>();
      const id = pubsub!.subscribe(channel, (message) => {
        const event = decode(schema, message as KafkaMessage);
        if (event === null) return;
        onDecoded?.(event);
        for (const l of listeners) l(event);
      });
      entry = { id, listeners };
      channels.set(channel, entry);
    }
    const current = entry;
    const typed = listener as (record: unknown) => void;
    current.listeners.add(typed);
    return () => {
      current.listeners.delete(typed);
      if (current.listeners.size === 0 && channels.get(channel) === current) {
        channels.delete(channel);
        void current.id.then((id) => pubsub?.unsubscribe(id));
      }
    };
  }

  /**
   * Every record passes here before KafkaPubSub routes it to its channel's listeners: an
   * event that is a command's outcome is answered even when nobody here subscribes to its
   * room, and outcome records (keyed by command id) of other processes are passed over
   * undecoded.
   */
  function route(message: KafkaMessage) {
    const channel = message.headers?.[eventHeaders.channel]?.toString();
    if (!channel || !pubsub) return;
    const commandId = message.headers?.[eventHeaders.outcomeOf]?.toString();
    if (commandId && answers?.awaits(commandId)) {
      const event = decode(roomEvent, message);
      if (event) answers.listener(commandId, { event });
    }
    if (channel === OUTCOMES_CHANNEL && !answers?.awaits(message.key?.toString() ?? "")) return;
    if (roomFeed && channel.startsWith(ROOM_CHANNEL_PREFIX)) {
      const roomId = channel.slice(ROOM_CHANNEL_PREFIX.length);
      if (roomFeed.wants(roomId, message.headers?.[eventHeaders.type]?.toString() ?? "")) {
        const event = decode(roomEvent, message);
        if (event) roomFeed.listener(event);
      }
    }
    pubsub["onMessage"](channel, message);
  }

  return {
    get connected() {
      return connected;
    },

    async start() {
      // KafkaPubSub.create() would run the consumer with kafkajs's defaults, which commit
      // offsets after every batch: one more broker request per fetch. We build it and run its
      // consumer ourselves, committing at most once a second (the group is this process's
      // own; after a kafkajs restart it resumes at most a second back, and subscribers drop
      // what they saw by seq).
      const build = KafkaPubSub as unknown as new (input: Parameters<typeof KafkaPubSub.create>[0]) => KafkaPubSub;
      pubsub = new build({
        kafka: options.kafka,
        topic: options.topic,
        // Idle fetches return after this long; it bounds how long start() waits to be positioned.
        consumerConfig: { groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false, retry: KAFKA_RETRY },
        producerConfig: { allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner },
      });
      const consumer: Consumer = pubsub["consumer"];
      let lastFetchAt = Date.now();
      consumer.on(consumer.events.FETCH, () => (lastFetchAt = Date.now()));
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        logger.error({ err: payload.error, restart: payload.restart }, "event consumer crashed");
        if (!payload.restart) void restart("the event consumer crashed and kafkajs gave it up");
      });
      consumer.on(consumer.events.DISCONNECT, () => (connected = false));
      consumer.on(consumer.events.CONNECT, () => (connected = true));
      // Events published before start are not for us, events after it must not be missed:
      // the group starts with every partition's latest offset committed, so a rejoin while
      // the coordinator moves resumes there rather than at a newer "latest".
      await commitLatestOffsets(options.kafka, groupId, options.topic);
      const positioned = new Promise<void>((resolve) => {
        const off = consumer.on(consumer.events.FETCH, () => {
          off();
          resolve();
        });
      });
      const run = () =>
        consumer.run({
          autoCommit: false,
          autoCommitInterval: 1000,
          eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }) => {
            for (const message of batch.messages) {
              route(message);
              resolveOffset(message.offset);
            }
            // The committed offset only says where a restart resumes: a commit that fails (the
            // group's coordinator is moving) must not make kafkajs fetch and route this batch again.
            await commitOffsetsIfNecessary().catch((error: unknown) =>
              logger.debug({ err: error }, "could not commit the event consumer's offsets; the next commit will"),
            );
            await heartbeat();
          },
        });
      /**
       * Runs the consumer again in the same group, so it resumes at its last committed offset
       * (at most a second back: subscribers drop what they saw by seq) and every subscription
       * stays open: its clients see a pause, not an error. Until it is running again.
       */
      let restarting = false;
      const restart = async (reason: string) => {
        if (restarting || !pubsub) return;
        restarting = true;
        logger.warn({ reason, groupId }, "restarting the event consumer; subscriptions stay open");
        for (let attempt = 1; pubsub; attempt++) {
          try {
            await consumer.disconnect().catch(() => {});
            await consumer.connect();
            await run();
            break;
          } catch (error) {
            logger.warn({ err: error, attempt }, "could not restart the event consumer; trying again");
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        }
        lastFetchAt = Date.now();
        restarting = false;
      };
      watchdog = setInterval(() => {
        if (Date.now() - lastFetchAt > STALLED_AFTER_MS)
          void restart(`no fetch completed for ${STALLED_AFTER_MS / 1000} s`);
      }, 5000).unref();
      // The producer is for ephemeral events (typing, presence): commands go through the command bus.
      await Promise.all([consumer.connect(), pubsub["producer"].connect()]);
      await consumer.subscribe({ topic: options.topic });
      await run();
      await positioned;
      connected = true;
      logger.info({ topic: options.topic, groupId }, "event bus ready");
    },

    async stop() {
      clearInterval(watchdog);
      for (const queue of queues) void queue.return();
      if (!pubsub) return;
      const consumer = pubsub["consumer"];
      const producer = pubsub["producer"];
      pubsub = null;
      connected = false;
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
      // The group only ever belonged to this process: remove it rather than leave it to expire.
      const admin = options.kafka.admin();
      try {
        await admin.connect();
        await admin.deleteGroups([groupId]);
      } catch (error) {
        logger.debug({ err: error, groupId }, "could not delete event consumer group");
      } finally {
        await admin.disconnect().catch(() => {});
      }
    },

    get subscriptionCount() {
      return queues.size;
    },

    subscribeRoom(roomId, onOverflow) {
      if (!pubsub) throw new AppError("SERVICE_UNAVAILABLE", "the event stream is not connected");
      let unlisten = () => {};
      const queue = new BoundedQueue<RoomEvent>(
        options.queueLimit,
        () => {
          logger.warn({ roomId, limit: options.queueLimit }, "subscriber fell too far behind; disconnecting it");
          onOverflow?.();
          return new AppError(
            "SERVICE_UNAVAILABLE",
            `subscription fell more than ${options.queueLimit} events behind; subscribe again with afterSeq to resume`,
          );
        },
        () => {
          queues.delete(queue);
          unlisten();
        },
      );
      queues.add(queue);
      unlisten = listen(roomChannel(roomId), roomEvent, (event) => queue.push(event), options.onRoomEvent);
      return queue;
    },

    onUserChanged(listener) {
      if (!pubsub) throw new AppError("SERVICE_UNAVAILABLE", "the event stream is not connected");
      return listen(USERS_CHANNEL, userEvent, (event) => listener(event.userId));
    },

    onRoomEvents(wants, listener) {
      roomFeed = { wants, listener };
      return () => void (roomFeed = null);
    },

    onPresence(listener) {
      if (!pubsub) throw new AppError("SERVICE_UNAVAILABLE", "the event stream is not connected");
      return listen(PRESENCE_CHANNEL, presenceReport, listener);
    },

    async publish(event) {
      if (!pubsub) throw new AppError("SERVICE_UNAVAILABLE", "the event stream is not connected");
      const [key, channel] =
        event.type === "PresenceReport"
          ? [event.processId, PRESENCE_CHANNEL]
          : [event.roomId, roomChannel(event.roomId)];
      await pubsub["producer"].send({
        topic: options.topic,
        acks: ACKS_ALL,
        messages: [
          {
            key,
            value: JSON.stringify(event),
            headers: { [eventHeaders.channel]: channel, [eventHeaders.type]: event.type },
          },
        ],
      });
    },

    onAnswer(awaits, listener) {
      if (!pubsub) throw new AppError("SERVICE_UNAVAILABLE", "the event stream is not connected");
      answers = { awaits, listener };
      const unlisten = listen(OUTCOMES_CHANNEL, commandOutcome, (outcome) => listener(outcome.commandId, { outcome }));
      return () => {
        answers = null;
        unlisten();
      };
    },
  };
}

/** Commits each partition's end offset for a group that has no members yet. */
async function commitLatestOffsets(kafka: Kafka, groupId: string, topic: string) {
  const admin = kafka.admin({ retry: KAFKA_RETRY });
  await admin.connect();
  try {
    const latest = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({
      groupId,
      topic,
      partitions: latest.map(({ partition, offset }) => ({ partition, offset })),
    });
  } finally {
    await admin.disconnect();
  }
}
