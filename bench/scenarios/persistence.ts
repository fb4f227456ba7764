/** 4. Persistence: commands applied per second by one worker, batched vs one transaction per command. */
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import postgres from "postgres";
import { AppProcess } from "../../scripts/app-process.js";
import { topicNames } from "../../src/kafka/client.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, type Fixture, type Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";

/** Queues `count` SendMessage commands on chat.commands, as API processes would. */
async function produceCommands(env: Record<string, string>, fixture: Fixture, count: number): Promise<void> {
  const kafka = new Kafka({ brokers: env.KAFKA_BROKERS!.split(","), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const topic = topicNames(env.KAFKA_TOPIC_PREFIX!).commands;
  for (let start = 0; start < count; start += 1000) {
    const messages = Array.from({ length: Math.min(1000, count - start) }, (_, j) => {
      const roomId = fixture.rooms[(start + j) % fixture.rooms.length]!;
      const command = {
        id: randomUUID(),
        type: "SendMessage",
        actorId: fixture.sender.id,
        issuedAt: new Date().toISOString(),
        payload: { roomId, body: `persisted message ${start + j}`, clientMessageId: null },
      };
      return { key: roomId, value: JSON.stringify(command) };
    });
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
}

/** Applied commands per second, from the first to the last stored message's timestamp. */
async function measureApply(
  stack: Stack,
  env: Record<string, string>,
  fixture: Fixture,
  count: number,
  transactionSize: number,
): Promise<number> {
  const db = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await produceCommands(env, fixture, count);
    const worker = await AppProcess.start(
      "worker",
      { ...env, WORKER_TRANSACTION_SIZE: String(transactionSize) },
      [],
      "build",
    );
    try {
      const deadline = Date.now() + 600_000;
      for (;;) {
        const [{ n } = { n: "0" }] = await db<
          { n: string }[]
        >`select count(*) as n from messages where room_id in ${db(fixture.rooms)}`;
        if (Number(n) >= count) break;
        if (Date.now() > deadline) throw new Error(`only ${n} of ${count} commands applied`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await worker.stop();
    }
    const [span] = await db<{ seconds: number }[]>`
      select extract(epoch from max(created_at) - min(created_at))::float8 as seconds from messages where room_id in ${db(fixture.rooms)}`;
    return count / span!.seconds;
  } finally {
    await db.end();
  }
}

export async function persistenceScenario(
  stack: Stack,
  opts: { commands: number; singleCommands: number; rooms: number },
  log: (l: string) => void,
): Promise<Row[]> {
  const env = Chat.env(stack);
  // Users and rooms through the real API, then the worker is stopped so commands queue up.
  const chat = await Chat.start(env, { api: true, workers: 1 });
  let batchedRooms: Fixture;
  let singleRooms: Fixture;
  try {
    batchedRooms = await createFixture(chat.url, opts.rooms);
    singleRooms = await createFixture(chat.url, opts.rooms);
  } finally {
    await chat.stop();
  }
  log(`persistence: ${opts.commands} queued commands, one worker, batched transactions`);
  const batched = await measureApply(stack, env, batchedRooms, opts.commands, 500);
  log(`persistence: ${opts.singleCommands} queued commands, one worker, one transaction per command`);
  const single = await measureApply(stack, env, singleRooms, opts.singleCommands, 1);
  return [
    row({
      scenario: `4. persistence, one worker`,
      figure: "commands applied/s",
      value: round(batched, 0),
      unit: "cmd/s",
      baselineName: "one transaction per command",
      baseline: round(single, 0),
      target: ">= 10x baseline",
      met: batched >= single * 10,
      details: { batchedCommands: opts.commands, singleCommands: opts.singleCommands, rooms: opts.rooms },
    }),
  ];
}
