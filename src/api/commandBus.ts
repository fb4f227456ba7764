import { randomUUID } from "node:crypto";
import { Partitioners, type Kafka, type Message, type Producer } from "kafkajs";
import type { CommandAnswers, CommandBus } from "../commands/ports.js";
import type { CommandAnswer, CommandDefinition, CommandEnvelope } from "../commands/protocol.js";
import { AppError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { Metrics } from "../shared/metrics.js";
import { ACKS_ALL } from "../kafka/client.js";
import { failed, messagingAttributes, SpanKind, tracing } from "../shared/tracing.js";

export interface CommandBusOptions {
  kafka: Kafka;
  topic: string;
  /** Where the workers' answers arrive (the event bus). */
  answers: CommandAnswers;
  timeoutMs: number;
  /** How long a command may wait for others to share its produce request (0: the same event-loop turn). */
  lingerMs: number;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Commands issued within `lingerMs` of each other go out in one produce request (Kafka's
 * linger.ms): every request costs the broker and the workers' fetches several system calls,
 * so under load this is many fewer of them, for at most lingerMs of latency.
 */
class Outbox {
  private waiting: Array<{ message: Message; resolve: () => void; reject: (error: unknown) => void }> = [];
  producer: Producer | null = null;

  constructor(
    private readonly topic: string,
    private readonly lingerMs: number,
  ) {}

  send(message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ message, resolve, reject }) === 1) {
        if (this.lingerMs > 0) setTimeout(() => this.flush(), this.lingerMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush() {
    const items = this.waiting;
    this.waiting = [];
    if (!this.producer) return items.forEach((i) => i.reject(new Error("the producer is stopped")));
    this.producer.send({ topic: this.topic, acks: ACKS_ALL, messages: items.map((i) => i.message) }).then(
      () => items.forEach((i) => i.resolve()),
      (error: unknown) => items.forEach((i) => i.reject(error)),
    );
  }
}

/** Publishes commands to `chat.commands` and answers each caller with its command's outcome. */
export class KafkaCommandBus implements CommandBus {
  private readonly outbox: Outbox;
  private readonly pending = new Map<string, (answer: CommandAnswer) => void>();
  /** Commands whose deadline passed, with when: an answer that still comes is logged, to tell slow from lost. */
  private readonly expired = new Map<string, number>();
  private stopListening = () => {};

  constructor(private readonly options: CommandBusOptions) {
    this.outbox = new Outbox(options.topic, options.lingerMs);
  }

  /** Commands published here whose answers are awaited. */
  get awaiting(): number {
    return this.pending.size;
  }

  async start() {
    const producer = this.options.kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    this.outbox.producer = producer;
    this.stopListening = this.options.answers.onAnswer(
      (commandId) => this.pending.has(commandId) || this.expired.has(commandId),
      (commandId, answer) => this.answer(commandId, answer),
    );
  }

  async stop() {
    this.stopListening();
    const producer = this.outbox.producer;
    this.outbox.producer = null;
    await producer?.disconnect();
  }

  async execute<P, R>(command: CommandDefinition<P, R>, payload: P, actorId: string | null): Promise<R> {
    if (!this.outbox.producer) throw new AppError("SERVICE_UNAVAILABLE", "the API is not connected to Kafka");
    await this.options.answers.awake(); // the answer must not be published while the consumer sleeps
    const envelope: CommandEnvelope<P> = {
      id: randomUUID(),
      type: command.type,
      actorId,
      issuedAt: new Date().toISOString(),
      payload,
    };
    const answered = await this.publishAndWait(envelope, command.key(payload, actorId));
    if ("event" in answered) {
      const result = command.resultOf?.(answered.event);
      if (result !== undefined) return result;
      throw new Error(`command ${envelope.id} was answered by an event that does not carry its result`);
    }
    const { outcome } = answered;
    if (!outcome.ok) throw new AppError(outcome.error.code, outcome.error.message, { commandId: envelope.id });
    return command.result.parse(outcome.result);
  }

  private answer(commandId: string, answer: CommandAnswer) {
    const waiting = this.pending.get(commandId);
    if (waiting) return waiting(answer);
    const expiredAt = this.expired.get(commandId);
    this.expired.delete(commandId);
    if (expiredAt !== undefined)
      this.options.logger.warn(
        { commandId, lateMs: Date.now() - expiredAt },
        "an answer came after its command's deadline",
      );
  }

  /**
   * Listens before publishing (the outcome can arrive before send() returns). The deadline
   * covers publishing too, so a broker that is away cannot hold the caller forever.
   */
  private async publishAndWait(envelope: CommandEnvelope<unknown>, key: string): Promise<CommandAnswer> {
    const { logger, metrics } = this.options;
    const abort = new AbortController();
    let published = false;
    const answer = this.waitForAnswer(envelope, abort.signal, () => published);
    const span = tracing.begin(() => ({
      name: `send ${this.options.topic}`,
      kind: SpanKind.PRODUCER,
      attributes: messagingAttributes(this.options.topic, "send", { key, id: envelope.id }),
    }));
    const headers = tracing.inject({ type: envelope.type }, span);
    const message = { key, value: JSON.stringify(envelope), headers };
    const sent = this.outbox.send(message).then(
      () => {
        span?.end();
        published = true;
        metrics.commandsProduced.inc({ type: envelope.type });
        logger.debug({ commandId: envelope.id, type: envelope.type, key }, "command published");
      },
      (error: unknown) => {
        failed(span, error);
        span?.end();
        abort.abort();
        logger.error({ err: error, commandId: envelope.id, type: envelope.type }, "could not publish command");
        throw new AppError("SERVICE_UNAVAILABLE", `could not publish command ${envelope.id}: Kafka is unavailable`, {
          commandId: envelope.id,
        });
      },
    );
    sent.catch(() => {}); // when the deadline wins the race, a later send failure has no one to tell
    await Promise.race([sent, answer]);
    return answer;
  }

  private waitForAnswer(
    { id: commandId, type }: CommandEnvelope<unknown>,
    signal: AbortSignal,
    published: () => boolean,
  ): Promise<CommandAnswer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(commandId);
        this.options.metrics.commandTimeouts.inc({ type });
        this.options.logger.warn(
          { commandId, type, published: published() },
          "no answer before the command's deadline",
        );
        if (this.expired.size >= 1000) this.expired.delete(this.expired.keys().next().value!);
        this.expired.set(commandId, Date.now());
        reject(this.deadlineError(commandId, published()));
      }, this.options.timeoutMs);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        this.pending.delete(commandId);
      });
      this.pending.set(commandId, (answer) => {
        clearTimeout(timer);
        this.pending.delete(commandId);
        resolve(answer);
      });
    });
  }

  /** The error for a command whose deadline passed: whether Kafka had even taken it says where it is stuck. */
  private deadlineError(commandId: string, published: boolean) {
    const { timeoutMs } = this.options;
    const retry = "it may still be applied, and retrying with the same clientMessageId is safe";
    return published
      ? new AppError(
          "COMMAND_TIMEOUT",
          `command ${commandId} got no outcome within ${timeoutMs} ms (the workers or Kafka are slow or unavailable); ${retry}`,
          { commandId },
        )
      : new AppError(
          "SERVICE_UNAVAILABLE",
          `Kafka did not accept command ${commandId} within ${timeoutMs} ms (brokers down, or too few in-sync replicas to acknowledge it); ${retry}`,
          { commandId },
        );
  }
}
