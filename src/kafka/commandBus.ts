import { randomUUID } from "node:crypto";
import { Partitioners, type Kafka, type Message, type Producer } from "kafkajs";
import type { CommandBus, EventBus } from "../commands/ports.js";
import type { CommandAnswer, CommandDefinition, CommandEnvelope } from "../commands/protocol.js";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { ACKS_ALL } from "./client.js";

export interface CommandBusOptions {
  kafka: Kafka;
  topic: string;
  events: EventBus;
  timeoutMs: number;
  /** How long a command may wait for others to share its produce request (0: the same event-loop turn). */
  lingerMs: number;
  logger: Logger;
  metrics: Metrics;
}

export function createCommandBus(options: CommandBusOptions): CommandBus {
  const { logger } = options;
  let producer: Producer | null = null;
  let stopListening = () => {};
  const pending = new Map<string, (answer: CommandAnswer) => void>();

  /** The error for a command whose deadline passed: whether Kafka had even taken it says where it is stuck. */
  function deadlineError(commandId: string, published: boolean) {
    const retry = "it may still be applied, and retrying with the same clientMessageId is safe";
    return published
      ? new AppError(
          "COMMAND_TIMEOUT",
          `command ${commandId} got no outcome within ${options.timeoutMs} ms (the workers or Kafka are slow or unavailable); ${retry}`,
          { commandId },
        )
      : new AppError(
          "SERVICE_UNAVAILABLE",
          `Kafka did not accept command ${commandId} within ${options.timeoutMs} ms (brokers down, or too few in-sync replicas to acknowledge it); ${retry}`,
          { commandId },
        );
  }

  function waitForAnswer(
    { id: commandId, type }: CommandEnvelope<unknown>,
    signal: AbortSignal,
    published: () => boolean,
  ): Promise<CommandAnswer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(commandId);
        options.metrics.commandTimeouts.inc({ type });
        reject(deadlineError(commandId, published()));
      }, options.timeoutMs);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        pending.delete(commandId);
      });
      pending.set(commandId, (answer) => {
        clearTimeout(timer);
        pending.delete(commandId);
        resolve(answer);
      });
    });
  }

  // Commands issued within `lingerMs` of each other go out in one produce request (Kafka's
  // linger.ms): every request costs the broker and the workers' fetches several system calls,
  // so under load this is many fewer of them, for at most lingerMs of latency.
  let outbox: Array<{ message: Message; resolve: () => void; reject: (error: unknown) => void }> = [];
  function publish(message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      if (outbox.push({ message, resolve, reject }) === 1) {
        if (options.lingerMs > 0) setTimeout(flushOutbox, options.lingerMs);
        else setImmediate(flushOutbox);
      }
    });
  }
  function flushOutbox() {
    const items = outbox;
    outbox = [];
    if (!producer) return items.forEach((i) => i.reject(new Error("the producer is stopped")));
    producer.send({ topic: options.topic, acks: ACKS_ALL, messages: items.map((i) => i.message) }).then(
      () => items.forEach((i) => i.resolve()),
      (error: unknown) => items.forEach((i) => i.reject(error)),
    );
  }

  return {
    async start() {
      producer = options.kafka.producer({
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      stopListening = options.events.onAnswer(
        (commandId) => pending.has(commandId),
        (commandId, answer) => pending.get(commandId)?.(answer),
      );
    },

    async stop() {
      stopListening();
      await producer?.disconnect();
      producer = null;
    },

    async execute<P, R>(command: CommandDefinition<P, R>, payload: P, actorId: string | null): Promise<R> {
      if (!producer) throw new AppError("SERVICE_UNAVAILABLE", "the API is not connected to Kafka");
      const envelope: CommandEnvelope<P> = {
        id: randomUUID(),
        type: command.type,
        actorId,
        issuedAt: new Date().toISOString(),
        payload,
      };
      const abort = new AbortController();
      // Listen before publishing: the outcome can arrive before send() returns. The timeout
      // covers publishing too, so a broker that is away cannot hold the caller forever.
      let published = false;
      const answer = waitForAnswer(envelope, abort.signal, () => published);
      const sent = publish({
        key: command.key(payload, actorId),
        value: JSON.stringify(envelope),
        headers: { type: command.type },
      }).then(
        () => {
          published = true;
          options.metrics.commandsProduced.inc({ type: command.type });
        },
        (error: unknown) => {
          abort.abort();
          logger.error({ err: error, commandId: envelope.id, type: command.type }, "could not publish command");
          throw new AppError("SERVICE_UNAVAILABLE", `could not publish command ${envelope.id}: Kafka is unavailable`, {
            commandId: envelope.id,
          });
        },
      );
      sent.catch(() => {}); // when the timeout wins the race, a later send failure has no one to tell
      await Promise.race([sent, answer]);
      const answered = await answer;
      if ("event" in answered) {
        const result = command.resultOf?.(answered.event);
        if (result !== undefined) return result;
        throw new Error(`command ${envelope.id} was answered by an event that does not carry its result`);
      }
      const { outcome } = answered;
      if (!outcome.ok) throw new AppError(outcome.error.code, outcome.error.message, { commandId: envelope.id });
      return command.result.parse(outcome.result);
    },
  };
}
