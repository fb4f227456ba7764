/**
 * Where a message's milliseconds go between the HTTP request and delivery. The bench knows
 * when it sent and when each subscriber received; the rest comes from `chat.events`, read by
 * a consumer of our own that stands in for an API process: the event carries when the
 * command was issued (`issuedAt`), its `trace` header when the command was produced, taken
 * up by a worker and committed, and the record's timestamp when the event was produced. All
 * clocks are this machine's (epoch milliseconds).
 */
import { performance } from "node:perf_hooks";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { eventHeaders } from "../../src/commands/protocol.js";
import { distribution, round, type Distribution } from "./stats.js";

const now = () => performance.timeOrigin + performance.now();

interface Observed {
  issuedAt: number;
  produced: number;
  takenUp: number;
  committed: number;
  eventProduced: number;
  consumed: number;
}

export const STAGES = [
  "HTTP + GraphQL (sent -> command issued)",
  "command produced to Kafka",
  "worker takes it up",
  "applied and committed",
  "event produced to Kafka",
  "event consumed",
  "event produced -> delivered",
] as const;

export class StageTracer {
  private readonly sentAt = new Map<string, number>();
  private readonly observed = new Map<string, Observed>();
  private readonly deliveries: Array<{ id: string; at: number }> = [];

  private constructor(private readonly consumer: Consumer) {}

  /** Starts reading the topic from its end; resolves once the consumer is positioned. */
  static async start(brokers: string, topic: string): Promise<StageTracer> {
    const kafka = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `bench-stages-${Date.now()}`, maxWaitTimeInMs: 100 });
    const tracer = new StageTracer(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic });
    const positioned = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.FETCH, () => {
        off();
        resolve();
      });
    });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const consumed = now();
        if (message.headers?.[eventHeaders.type]?.toString() !== "MessageAdded") return;
        const event = JSON.parse(message.value!.toString());
        const [produced, takenUp, committed] = (message.headers?.[eventHeaders.trace]?.toString() ?? "")
          .split(",")
          .map(Number);
        const id = event.message.clientMessageId as string;
        if (tracer.observed.has(id) || !event.issuedAt) return; // a redelivery: the first one counts
        tracer.observed.set(id, {
          issuedAt: Date.parse(event.issuedAt),
          produced: produced!,
          takenUp: takenUp!,
          committed: committed!,
          eventProduced: Number(message.timestamp),
          consumed,
        });
      },
    });
    await positioned;
    return tracer;
  }

  sent(clientMessageId: string): void {
    this.sentAt.set(clientMessageId, now());
  }

  delivered(clientMessageId: string): void {
    this.deliveries.push({ id: clientMessageId, at: now() });
  }

  /** Percentiles per stage, in milliseconds. */
  breakdown(): Record<(typeof STAGES)[number], Distribution> {
    const stage = (f: (o: Observed, sent: number) => number) =>
      distribution(
        [...this.observed].filter(([id]) => this.sentAt.has(id)).map(([id, o]) => f(o, this.sentAt.get(id)!)),
      );
    return {
      [STAGES[0]]: stage((o, sent) => o.issuedAt - sent),
      [STAGES[1]]: stage((o) => o.produced - o.issuedAt),
      [STAGES[2]]: stage((o) => o.takenUp - o.produced),
      [STAGES[3]]: stage((o) => o.committed - o.takenUp),
      [STAGES[4]]: stage((o) => o.eventProduced - o.committed),
      [STAGES[5]]: stage((o) => o.consumed - o.eventProduced),
      [STAGES[6]]: distribution(
        this.deliveries.flatMap((d) => {
          const o = this.observed.get(d.id);
          return o ? [d.at - o.eventProduced] : [];
        }),
      ),
    } as Record<(typeof STAGES)[number], Distribution>;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

export function printBreakdown(title: string, breakdown: ReturnType<StageTracer["breakdown"]>): string {
  const lines = STAGES.map((s) => {
    const d = breakdown[s];
    return `| ${s.padEnd(42)} | ${String(round(d.p50, 1)).padStart(7)} | ${String(round(d.p99, 1)).padStart(7)} |`;
  });
  return [
    title,
    `| ${"stage".padEnd(42)} | p50 ms  | p99 ms  |`,
    `| ${"-".repeat(42)} | ------- | ------- |`,
    ...lines,
  ].join("\n");
}
