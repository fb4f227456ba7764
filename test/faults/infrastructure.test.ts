import { afterEach, expect, it } from "vitest";
import { inject } from "vitest";
import { start, stop } from "../../scripts/local-kafka.js";
import { startPgProxy } from "./support/pgProxy.js";
import { Scenario } from "./support/scenario.js";
import { checkStored, createRooms, report, ResumingSubscriber, sendStream, waitForDeliveries } from "./support/stream.js";

const TOTAL = 300;
let scenario: Scenario | undefined;
let subscribers: ResumingSubscriber[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(subscribers.map((s) => s.stop()));
  subscribers = [];
  await scenario?.stop();
  scenario = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

it("recovers from a Kafka broker restart mid-stream without restarting the app", async () => {
  scenario = await Scenario.start({ apis: 1, workers: 1 });
  const s = scenario;
  const port = Number(inject("kafkaBrokers").split(":")[1]);
  const rooms = await createRooms(s.urls()[0]!, 5);
  subscribers = rooms.map((room) => new ResumingSubscriber(s.urls, room.members[1]!, room.id));
  subscribers.forEach((sub) => sub.start());

  let restart: Promise<void> | null = null;
  let outageCalls = 0;
  const result = await sendStream({
    urls: s.urls,
    rooms,
    total: TOTAL,
    concurrency: 8,
    onAcknowledged: (count) => {
      if (count !== TOTAL / 3) return;
      restart = (async () => {
        await stop({ port, log: () => {} });
        // Calls made while the broker is down must end with an error, not hang.
        const started = Date.now();
        const during = await fetch(s.urls()[0]!, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${rooms[0]!.members[0]!.token}` },
          body: JSON.stringify({ query: `mutation($r: ID!) { sendMessage(roomId: $r, body: "during", clientMessageId: "during-outage") { seq } }`, variables: { r: rooms[0]!.id } }),
        }).then((r) => r.json() as Promise<{ errors?: Array<{ extensions?: { code?: string } }> }>);
        outageCalls = Date.now() - started;
        expect(during.errors?.[0]?.extensions?.code).toMatch(/COMMAND_TIMEOUT|SERVICE_UNAVAILABLE/);
        await start({ port, log: () => {} });
      })();
    },
  });
  await restart;
  expect(restart).not.toBeNull();
  expect(outageCalls).toBeLessThan(15_000); // COMMAND_TIMEOUT_MS is 5 s; nothing hangs

  // The call made during the outage may or may not have been applied later; count it if so.
  const [late] = await s.db<{ id: string; seq: number }[]>`select id, seq from messages where client_message_id = 'during-outage'`;
  if (late) result.acknowledged.set("during-outage", { roomId: rooms[0]!.id, id: late.id, seq: late.seq });
  const stored = await checkStored(s.db, rooms, result);
  const delivery = await waitForDeliveries(subscribers, stored.perRoom, 90_000);
  report("Kafka broker restart", { sent: result.sent, acknowledged: result.acknowledged.size, stored: stored.stored, ...delivery, outageCallMs: outageCalls, failedAttempts: result.failures });
  expect(delivery.duplicates).toBe(0);
  expect(stored.stored).toBe(result.acknowledged.size);
});

it("retries through a PostgreSQL outage mid-stream and loses nothing", async () => {
  const proxy = await startPgProxy();
  cleanups.push(() => proxy.close());
  scenario = await Scenario.start({ apis: 1, workers: 1 }, { DATABASE_URL: proxy.url(inject("databaseUrl")) });
  const s = scenario;
  const rooms = await createRooms(s.urls()[0]!, 5);
  subscribers = rooms.map((room) => new ResumingSubscriber(s.urls, room.members[1]!, room.id));
  subscribers.forEach((sub) => sub.start());

  let outage: Promise<void> | null = null;
  const result = await sendStream({
    urls: s.urls,
    rooms,
    total: TOTAL,
    concurrency: 8,
    onAcknowledged: (count) => {
      if (count === TOTAL / 3) outage = proxy.outage(4000);
    },
  });
  await outage;
  expect(outage).not.toBeNull();
  const retries = await s.workers[0]!.metric("chat_worker_batch_retries_total");

  const stored = await checkStored(s.db, rooms, result);
  const delivery = await waitForDeliveries(subscribers, stored.perRoom, 90_000);
  report("PostgreSQL outage (4 s)", { sent: result.sent, acknowledged: result.acknowledged.size, stored: stored.stored, ...delivery, workerBatchRetries: retries, failedAttempts: result.failures });
  expect(result.acknowledged.size).toBe(TOTAL);
  expect(stored.stored).toBe(TOTAL);
  expect(delivery.duplicates).toBe(0);
});
