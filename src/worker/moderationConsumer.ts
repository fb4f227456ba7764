/**
 * The moderation consumer (process role `moderation`): its own consumer group on chat.events,
 * so it can lag, stop or crash without slowing the chat path. It reads reports and new
 * messages (other records are passed over by their type header, undecoded) and acts through
 * chat.commands like any client: HideMessage when a message has enough reporters, MuteUser
 * when a sender floods the same text across rooms. Its commands' ids are derived from what
 * they decide, so reading the same events again (after a restart) decides nothing twice.
 */
import { Partitioners, type Consumer, type Kafka, type KafkaMessage, type Producer } from "kafkajs";
import { derivedUuid } from "../commands/derivedId.js";
import { eventHeaders, roomEvent, type AnyCommand } from "../commands/protocol.js";
import { ACKS_ALL, KAFKA_RETRY, type Topics } from "../kafka/client.js";
import { hideMessageCommand, muteUserCommand } from "../features/moderation/moderation.commands.js";
import { FloodDetector, shouldHide, type ModerationPolicy } from "../features/moderation/moderation.rules.js";
import type { Logger } from "../shared/logger.js";

export interface ModerationConsumerOptions {
  kafka: Kafka;
  topics: Topics;
  groupId: string;
  policy: ModerationPolicy;
  /** How soon a dead moderation process's partitions move to its replacement. */
  sessionTimeoutMs: number;
  logger: Logger;
  onFatal(error: unknown): void;
}

const WATCHED: ReadonlySet<string> = new Set(["MessageReported", "MessageAdded"]);

export class ModerationConsumer {
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private readonly floods: FloodDetector;

  constructor(private readonly options: ModerationConsumerOptions) {
    this.floods = new FloodDetector(options.policy);
  }

  async start() {
    const { kafka, topics, groupId, logger } = this.options;
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await this.producer.connect();
    const consumer = (this.consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      retry: KAFKA_RETRY,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: Math.floor(this.options.sessionTimeoutMs / 3),
    }));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.error({ err: payload.error, restart: payload.restart }, "moderation consumer crashed");
      if (!payload.restart) this.options.onFatal(payload.error);
    });
    await consumer.connect();
    // A first start looks at what happens from now on; a restart resumes where it left off.
    await consumer.subscribe({ topic: topics.events, fromBeginning: false });
    await consumer.run({
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const record of batch.messages) {
          await this.take(record);
          resolveOffset(record.offset);
        }
        this.floods.prune(Date.now());
        await heartbeat();
      },
    });
    logger.info({ topic: topics.events, groupId }, "moderation consumer running");
  }

  async stop() {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    this.consumer = this.producer = null;
  }

  private async take(record: KafkaMessage) {
    const type = record.headers?.[eventHeaders.type]?.toString() ?? "";
    if (!WATCHED.has(type)) return;
    const parsed = roomEvent.safeParse(parseJson(record.value?.toString("utf8") ?? ""));
    if (!parsed.success) return; // not ours to judge: the event log keeps it
    const event = parsed.data;
    const { policy } = this.options;
    if (event.type === "MessageReported" && shouldHide(event.reports, policy))
      await this.issue(hideMessageCommand, `hide:${event.messageId}`, {
        roomId: event.roomId,
        messageId: event.messageId,
      });
    if (event.type === "MessageAdded" && event.message.senderId) {
      const at = Number(record.timestamp);
      const { senderId, roomId, body } = event.message;
      if (this.floods.noteMessage(senderId, roomId, body, at)) {
        const until = new Date(at + policy.muteMs).toISOString();
        const reason = `sent the same text to ${policy.floodRooms} rooms within ${policy.floodWindowMs / 1000} s`;
        await this.issue(muteUserCommand, `mute:${senderId}:${at}`, { userId: senderId, until, reason });
      }
    }
  }

  /** Publishes a decision as a command whose id `decision` names. */
  private async issue(command: AnyCommand, decision: string, payload: Record<string, unknown>) {
    const id = derivedUuid(`moderation:${decision}`);
    const envelope = { id, type: command.type, actorId: null, issuedAt: new Date().toISOString(), payload };
    await this.producer!.send({
      topic: this.options.topics.commands,
      acks: ACKS_ALL,
      messages: [{ key: command.key(payload, null), value: JSON.stringify(envelope) }],
    });
    this.options.logger.info({ type: command.type, ...payload }, "moderation decided");
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
