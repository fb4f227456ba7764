import { Kafka, logLevel, Partitioners, type KafkaMessage } from "kafkajs";
import { afterEach, expect, it } from "vitest";
import { EPHEMERAL_EVENT_TYPES, eventHeaders } from "../../src/commands/protocol.js";
import { topicNames } from "../../src/kafka/client.js";
import { waitUntil } from "../../scripts/app-process.js";
import { Scenario } from "./support/scenario.js";
import { checkStored, createRooms, report, sendStream } from "./support/stream.js";

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.stop();
  scenario = undefined;
});

const kafkaFor = (s: Scenario) => new Kafka({ brokers: s.env.KAFKA_BROKERS!.split(","), logLevel: logLevel.NOTHING });

/** Every record of a topic from the beginning, read by a throwaway consumer group. */
async function readTopic(
  s: Scenario,
  topic: string,
  until: (records: KafkaMessage[]) => boolean,
): Promise<KafkaMessage[]> {
  const consumer = kafkaFor(s).consumer({ groupId: `reader-${Math.random().toString(36).slice(2)}` });
  const records: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void records.push(message) });
  try {
    await waitUntil(() => until(records), 30_000, `records on ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

it("dead-letters poison records with the reason, and the room's later messages still flow", async () => {
  scenario = await Scenario.start({ apis: 1, workers: 1 });
  const s = scenario;
  const topics = topicNames(s.env.KAFKA_TOPIC_PREFIX!);
  const [room] = await createRooms(s.urls()[0]!, 1);
  const before = await sendStream({ urls: s.urls, rooms: [room!], total: 20, concurrency: 4, prefix: "before" });

  const producer = kafkaFor(s).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic: topics.commands,
    messages: [
      { key: room!.id, value: "{ this is not json" },
      {
        key: room!.id,
        value: JSON.stringify({
          id: crypto.randomUUID(),
          type: "LaunchRockets",
          actorId: null,
          issuedAt: new Date().toISOString(),
          payload: {},
        }),
      },
      {
        key: room!.id,
        value: JSON.stringify({
          id: crypto.randomUUID(),
          type: "SendMessage",
          actorId: room!.members[0]!.id,
          issuedAt: new Date().toISOString(),
          payload: { roomId: room!.id, body: "", clientMessageId: null },
        }),
      },
      {
        // Well-formed, but PostgreSQL refuses it: a room with this id exists (unique violation).
        key: room!.id,
        value: JSON.stringify({
          id: crypto.randomUUID(),
          type: "CreateRoom",
          actorId: room!.members[0]!.id,
          issuedAt: new Date().toISOString(),
          payload: { roomId: room!.id, name: "duplicate", memberIds: [] },
        }),
      },
    ],
  });
  await producer.disconnect();

  const after = await sendStream({ urls: s.urls, rooms: [room!], total: 20, concurrency: 4, prefix: "after" });
  const dead = await readTopic(s, topics.deadLetters, (records) => records.length >= 4);
  const reasons = dead.map((r) => r.headers?.["dlq-reason"]?.toString());
  expect(reasons).toEqual([
    "value is not JSON",
    "unknown command type LaunchRockets",
    expect.stringContaining("invalid SendMessage payload: body"),
    expect.stringContaining("database rejected it"),
  ]);
  expect(dead[0]!.value?.toString()).toBe("{ this is not json");
  expect(await s.workers[0]!.metric("chat_commands_dead_lettered_total")).toBe(4);

  for (const [k, v] of after.acknowledged) before.acknowledged.set(k, v);
  const stored = await checkStored(s.db, [room!], { sent: 40, acknowledged: before.acknowledged, failures: {} });
  report("poison records", {
    poison: 4,
    deadLettered: dead.length,
    sentAfter: after.sent,
    acknowledgedAfter: after.acknowledged.size,
    stored: stored.stored,
  });
  expect(stored.stored).toBe(40);
});

it("the event-log consumer can stop without slowing the chat path, and catches up", async () => {
  scenario = await Scenario.start({ apis: 1, workers: 1 }, { EVENT_LOG_ENABLED: "false" });
  const s = scenario;
  const topics = topicNames(s.env.KAFKA_TOPIC_PREFIX!);
  // A second worker process that also runs the event-log consumer.
  const logger = await s.startWorker({ EVENT_LOG_ENABLED: "true" });
  const rooms = await createRooms(s.urls()[0]!, 2);
  const countLogged = async () =>
    Number((await s.db<{ n: string }[]>`select count(*) as n from event_log where topic = ${topics.events}`)[0]!.n);

  const first = await sendStream({ urls: s.urls, rooms, total: 50, concurrency: 4, prefix: "first" });
  await logger.stop(); // the log consumer is down for the next 100 messages and 3 new rooms
  const second = await sendStream({ urls: s.urls, rooms, total: 100, concurrency: 4, prefix: "second" });
  await createRooms(s.urls()[0]!, 3);
  expect(first.acknowledged.size + second.acknowledged.size).toBe(150);

  // The log keeps every record but MessageAdded ones, whose durable copy is the message row,
  // and ephemeral ones (typing, presence), which nothing stores.
  const admin = kafkaFor(s).admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topics.events);
  await admin.disconnect();
  const total = ends.reduce((n, p) => n + Number(p.high), 0);
  const records = await readTopic(s, topics.events, (r) => r.length >= total);
  const toLog = records.filter((r) => {
    const type = r.headers?.[eventHeaders.type]?.toString() ?? "";
    return type !== "MessageAdded" && !EPHEMERAL_EVENT_TYPES.has(type);
  }).length;
  const loggedWhileDown = await countLogged();
  expect(loggedWhileDown).toBeLessThan(toLog);

  await s.startWorker({ EVENT_LOG_ENABLED: "true" });
  await waitUntil(async () => (await countLogged()) === toLog, 60_000, "the event log to catch up");
  const messageEvents = Number(
    (
      await s.db<{ n: string }[]>`select count(*) as n from event_history
        where payload->>'type' = 'MessageAdded' and payload->>'roomId' = any(${rooms.map((r) => r.id)})`
    )[0]!.n,
  );
  report("event-log consumer stopped and restarted", {
    records: total,
    logged: toLog,
    loggedWhileDown,
    messageEvents,
  });
  expect(messageEvents).toBe(150);
});
