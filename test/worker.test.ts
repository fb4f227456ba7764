/**
 * The worker, fed raw commands through Kafka: a run of SendMessage commands takes the
 * multi-row fast path, and must decide each command exactly as one-at-a-time would. Its
 * consumer does not poll the broker while idle.
 */
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, Partitioners, type KafkaMessage } from "kafkajs";
import { expect, it } from "vitest";
import { messageIdOf } from "../src/features/messages/sendMessages.commands.js";
import { topicNames } from "../src/kafka/client.js";
import { commandFetch } from "../src/worker/commandConsumer.js";
import { createRoom, gqlOk, signUp, useTestApp, useTestDatabase, type TestUser } from "./support/harness.js";

const t = useTestApp();
const db = useTestDatabase();

const envelope = (actorId: string, payload: Record<string, unknown>, id = randomUUID(), type = "SendMessage") => ({
  id,
  type,
  actorId,
  issuedAt: new Date().toISOString(),
  payload,
});

/**
 * Answers for the given command ids, read from the events topic: outcome records, and events
 * marked `outcome-of` (a stored message travels as its MessageAdded event alone). Waits until
 * each id has `times` answers; returns them per id, in the order they were published.
 */
async function answers(ids: string[], times = 1): Promise<Map<string, any[]>> {
  const kafka = new Kafka({ brokers: t.config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}` });
  const found = new Map<string, any[]>();
  const add = (id: string, answer: unknown) => found.set(id, [...(found.get(id) ?? []), answer]);
  await consumer.connect();
  await consumer.subscribe({ topic: topicNames(t.config.KAFKA_TOPIC_PREFIX).events, fromBeginning: true });
  let done: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    eachMessage: async ({ message }: { message: KafkaMessage }) => {
      const value = JSON.parse(message.value!.toString());
      const outcomeOf = message.headers?.["outcome-of"]?.toString();
      if (outcomeOf && ids.includes(outcomeOf)) add(outcomeOf, { ok: true, result: value.message, viaEvent: true });
      else if (message.headers?.channel?.toString() === "outcomes" && ids.includes(value.commandId))
        add(value.commandId, value);
      if (ids.every((id) => (found.get(id)?.length ?? 0) >= times)) done();
    },
  });
  await Promise.race([
    all,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`answers missing: ${found.size}/${ids.length}`)), 30_000),
    ),
  ]);
  await consumer.disconnect();
  return found;
}

async function produce(commands: Array<ReturnType<typeof envelope>>) {
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
  await produce(commands);

  const decided = await answers(commands.map((c) => c.id));
  const result = (i: number) => decided.get(commands[i]!.id)![0];
  expect(result(0)).toMatchObject({ ok: true, result: { seq: 1, body: "one" } });
  expect(result(1)).toMatchObject({ ok: true, result: { seq: 2 } });
  expect(result(2)).toMatchObject({ ok: true, result: { seq: 3, body: "two" } });
  expect(result(3)).toMatchObject({ ok: true, result: { id: result(0).result.id, seq: 1 } });
  expect(result(4)).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  expect(result(5)).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
  expect(result(7)).toMatchObject({ ok: true, result: { seq: 4, body: "three" } });
  // A stored message's answer is its MessageAdded event; the message's id is the command's,
  // or the one its sender, room and clientMessageId name.
  expect(result(1)).toMatchObject({ viaEvent: true, result: { id: repeated.id } });
  expect(result(0)).toMatchObject({ viaEvent: true, result: { id: messageIdOf(commands[0] as never) } });
  expect(result(7).result.id).not.toBe(result(0).result.id);
  expect(result(4).viaEvent).toBeUndefined();

  // Redelivered, and retried by the client, in a later batch: found by id, answered with the
  // same message, not stored again.
  const retry = envelope(alice!.id, { roomId, body: "one, later", clientMessageId: "c-1" });
  await produce([repeated, retry]);
  const again = (await answers([repeated.id], 3)).get(repeated.id)!;
  expect(again[2]).toMatchObject({ ok: true, viaEvent: true, result: { id: repeated.id, seq: 2 } });
  const retried = (await answers([retry.id])).get(retry.id)!;
  expect(retried[0]).toMatchObject({ ok: true, result: { id: result(0).result.id, seq: 1, body: "one" } });

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
  // Each sender's read position follows their newest stored message.
  const position = async (user: TestUser) =>
    (await gqlOk(t.url, `query($r: ID!) { room(id: $r) { lastReadSeq } }`, { r: roomId }, user.token)).room.lastReadSeq;
  expect([await position(alice!), await position(bob!)]).toEqual([2, 4]);
});

it("prunes decided commands older than the retention, and only those", async () => {
  const { pruneCommandLog } = await import("../src/worker/commandLogPruner.js");
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

it("applies a redelivered edit or reaction once: changes made after it stay", async () => {
  const [alice, bob] = await Promise.all([signUp(t.url), signUp(t.url)]);
  const roomId = await createRoom(t.url, alice!, [bob!]);
  const SEND = `mutation($r: ID!) { sendMessage(roomId: $r, body: "v1") { id } }`;
  const messageId = (await gqlOk(t.url, SEND, { r: roomId }, alice!.token)).sendMessage.id;
  const edit = envelope(alice!.id, { roomId, messageId, body: "v2" }, randomUUID(), "EditMessage");
  const react = envelope(bob!.id, { roomId, messageId, emoji: "👍" }, randomUUID(), "React");
  await produce([edit, react]);
  await answers([edit.id, react.id]);

  await gqlOk(
    t.url,
    `mutation($m: ID!) { editMessage(messageId: $m, body: "v3") { id } }`,
    { m: messageId },
    alice!.token,
  );
  await gqlOk(t.url, `mutation($m: ID!) { unreact(messageId: $m, emoji: "👍") { id } }`, { m: messageId }, bob!.token);
  await produce([edit, react]); // redelivered: answered again from the command log, applied never again
  const again = await answers([edit.id, react.id], 2);
  expect(again.get(edit.id)![1]).toEqual(again.get(edit.id)![0]);

  const [message] = await db<{ body: string }[]>`select body from messages where id = ${messageId}`;
  expect(message!.body).toBe("v3");
  const [reacted] = await db<{ n: number }[]>`select count(*)::int as n from reactions where message_id = ${messageId}`;
  expect(reacted!.n).toBe(0);
});

it("applies a run of any length with the same statements, and stores any text exactly", async () => {
  const [alice, bob] = await Promise.all([signUp(t.url), signUp(t.url)]);
  const rooms = await Promise.all([1, 2, 3].map(() => createRoom(t.url, alice!, [bob!])));
  const statementsWhile = async (commands: Array<ReturnType<typeof envelope>>) => {
    const before = t.queries.length;
    await produce(commands);
    await answers(commands.map((c) => c.id));
    // The event-log consumer shares the pool and appends whenever its own fetch returns, in
    // either window or neither: its statements are not the SendMessage path's.
    return new Set(
      t.queries
        .slice(before)
        .map((q) => q.sql)
        .filter((sql) => !sql.includes('"event_log"')),
    );
  };

  const single = await statementsWhile([
    envelope(alice!.id, { roomId: rooms[0], body: "first", clientMessageId: null }),
  ]);
  // Text that array parameters must carry unchanged: separators, quotes, braces, escapes.
  const bodies = ["a,b", '"quoted"', "back\\slash", "{braces}", "NULL", "(x, 'y')", "line\nbreak", "👍🏽 é"];
  const run = bodies.map((body, i) =>
    envelope(i % 2 ? bob!.id : alice!.id, { roomId: rooms[i % 3], body, clientMessageId: i % 4 ? null : `c-${i}` }),
  );
  const many = await statementsWhile(run);

  // Batch sizes and room counts differ; the statements do not (each new text costs
  // postgres.js a prepare round trip and stays cached for the connection's lifetime).
  expect([...many].filter((sql) => !single.has(sql))).toEqual([]);
  const stored = await db<{ body: string }[]>`
    select body from messages where room_id in ${db(rooms)} and body <> 'first' order by created_at, seq`;
  expect(stored.map((m) => m.body).sort()).toEqual([...bodies].sort());
});

it("fetches commands without polling while idle, and wakes for the first command", async () => {
  const kafka = new Kafka({ brokers: t.config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const topic = `${t.config.KAFKA_TOPIC_PREFIX}idle-fetch-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  // The worker's settings; then the same with a long idle wait, to see the wake-up apart from it.
  const consumers = [commandFetch(5), { ...commandFetch(5), idleMaxWaitTimeInMs: 10_000 }].map((fetch) =>
    kafka.consumer({ groupId: `test-idle-${randomUUID()}`, ...fetch }),
  );
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  try {
    const fetches = [0, 0];
    const received: Array<(value: string) => void> = [];
    const arrivals = consumers.map((consumer, i) => {
      consumer.on(consumer.events.REQUEST, ({ payload }) => void (payload.apiName === "Fetch" && fetches[i]!++));
      return new Promise<string>((resolve) => (received[i] = resolve));
    });
    await Promise.all([producer.connect(), ...consumers.map((c) => c.connect())]);
    for (const [i, consumer] of consumers.entries()) {
      const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve));
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => received[i]!(message.value!.toString()) });
      await joined;
    }
    // Idle for two seconds: gathering fetches of 5 ms would be about 400.
    fetches.fill(0);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(fetches[0]).toBeLessThanOrEqual(10);
    // A command arriving during a 10-second idle fetch is taken up at once.
    const sent = Date.now();
    await producer.send({ topic, messages: [{ value: "first" }] });
    expect(await arrivals[1]).toBe("first");
    expect(Date.now() - sent).toBeLessThan(5000);
    expect(await arrivals[0]).toBe("first");
  } finally {
    await Promise.allSettled([producer.disconnect(), ...consumers.map((c) => c.disconnect())]);
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});
