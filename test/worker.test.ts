/**
 * The worker, fed raw commands through Kafka: a run of SendMessage commands takes the
 * multi-row fast path, and must decide each command exactly as one-at-a-time would.
 */
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, Partitioners, type KafkaMessage } from "kafkajs";
import { expect, it } from "vitest";
import { topicNames } from "../src/kafka/client.js";
import { createRoom, signUp, useTestApp, useTestDatabase } from "./support/harness.js";

const t = useTestApp();
const db = useTestDatabase();

const envelope = (actorId: string, payload: Record<string, unknown>, id = randomUUID()) => ({
  id,
  type: "SendMessage",
  actorId,
  issuedAt: new Date().toISOString(),
  payload,
});

/** Outcomes for the given command ids, read from the events topic. */
async function outcomes(ids: string[]): Promise<Map<string, any>> {
  const kafka = new Kafka({ brokers: t.config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}` });
  const found = new Map<string, any>();
  await consumer.connect();
  await consumer.subscribe({ topic: topicNames(t.config.KAFKA_TOPIC_PREFIX).events, fromBeginning: true });
  let done: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    eachMessage: async ({ message }: { message: KafkaMessage }) => {
      if (message.headers?.channel?.toString() !== "outcomes") return;
      const outcome = JSON.parse(message.value!.toString());
      if (ids.includes(outcome.commandId)) found.set(outcome.commandId, outcome);
      if (found.size === new Set(ids).size) done();
    },
  });
  await Promise.race([
    all,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`outcomes missing: ${found.size}/${ids.length}`)), 30_000),
    ),
  ]);
  await consumer.disconnect();
  return found;
}

it("decides a run of SendMessage commands like one-at-a-time would", async () => {
  const [alice, bob, mallory] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  const roomId = await createRoom(t.url, alice!, [bob!]);
  const missingRoom = randomUUID();
  const repeated = envelope(alice!.id, { roomId, body: "sent twice by the producer", clientMessageId: null });
  const commands = [
    envelope(alice!.id, { roomId, body: "one", clientMessageId: "c-1" }),
    repeated,
    envelope(bob!.id, { roomId, body: "two", clientMessageId: null }),
    envelope(alice!.id, { roomId, body: "one again", clientMessageId: "c-1" }), // a client retry
    envelope(mallory!.id, { roomId, body: "intruder", clientMessageId: null }),
    envelope(alice!.id, { roomId: missingRoom, body: "nowhere", clientMessageId: null }),
    repeated, // the same command redelivered in the same batch
    envelope(bob!.id, { roomId, body: "three", clientMessageId: "c-1" }), // bob's own c-1
  ];
  const producer = new Kafka({ brokers: t.config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  // One send: the records land together, so the worker sees them as one run.
  await producer.send({
    topic: topicNames(t.config.KAFKA_TOPIC_PREFIX).commands,
    messages: commands.map((c) => ({ key: c.payload.roomId as string, value: JSON.stringify(c) })),
  });
  await producer.disconnect();

  const decided = await outcomes(commands.map((c) => c.id));
  const result = (i: number) => decided.get(commands[i]!.id);
  expect(result(0)).toMatchObject({ ok: true, result: { seq: 1, body: "one" } });
  expect(result(1)).toMatchObject({ ok: true, result: { seq: 2 } });
  expect(result(2)).toMatchObject({ ok: true, result: { seq: 3, body: "two" } });
  expect(result(3)).toMatchObject({ ok: true, result: { id: result(0).result.id, seq: 1 } });
  expect(result(4)).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  expect(result(5)).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
  expect(result(7)).toMatchObject({ ok: true, result: { seq: 4, body: "three" } });

  const stored = await db<
    { seq: number; body: string }[]
  >`select seq, body from messages where room_id = ${roomId} order by seq`;
  expect(stored).toEqual([
    { seq: 1, body: "one" },
    { seq: 2, body: "sent twice by the producer" },
    { seq: 3, body: "two" },
    { seq: 4, body: "three" },
  ]);
  const [room] = await db<{ last_seq: number }[]>`select last_seq from rooms where id = ${roomId}`;
  expect(room!.last_seq).toBe(4);
  const positions = await db<{ user_id: string; last_read_seq: number }[]>`
    select user_id, last_read_seq from room_members where room_id = ${roomId} order by last_read_seq`;
  expect(positions).toEqual([
    { user_id: alice!.id, last_read_seq: 2 },
    { user_id: bob!.id, last_read_seq: 4 },
  ]);
});

it("prunes decided commands older than the retention, and only those", async () => {
  const { pruneCommandLog } = await import("../src/kafka/commandLogPruner.js");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const [old, recent] = [randomUUID(), randomUUID()];
  await db`insert into command_log (command_id, type, outcome, events, applied_at) values
    (${old}, 'Test', '{}', '[]', now() - interval '200 hours'),
    (${recent}, 'Test', '{}', '[]', now() - interval '1 hour')`;
  const deleted = await pruneCommandLog(drizzle(db) as never, 192, 1);
  expect(deleted).toBeGreaterThanOrEqual(1);
  const left = await db<
    { command_id: string }[]
  >`select command_id from command_log where command_id in (${old}, ${recent})`;
  expect(left.map((r) => r.command_id)).toEqual([recent]);
});
