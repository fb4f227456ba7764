import { afterEach, expect, inject, it } from "vitest";
import { start, stop } from "../../scripts/local-kafka.js";
import { gql } from "../support/harness.js";
import { startPgProxy } from "./support/pgProxy.js";
import { Scenario } from "./support/scenario.js";
import { streamThroughFault } from "./support/stream.js";

const TOTAL = 300;
let scenario: Scenario | undefined;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await scenario?.stop();
  scenario = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

it("recovers from a Kafka broker restart mid-stream without restarting the app", async () => {
  const s = (scenario = await Scenario.start({ apis: 1, workers: 1 }));
  const port = Number(inject("kafkaBrokers").split(":")[1]);
  let outageCallMs = 0;
  const run = await streamThroughFault({
    name: "Kafka broker restart",
    urls: s.urls,
    db: s.db,
    rooms: 5,
    total: TOTAL,
    fault: async (rooms) => {
      await stop({ port, log: () => {} });
      // A call made while the broker is down must end with an error, not hang.
      const started = Date.now();
      const during = await gql(
        s.urls()[0]!,
        `mutation($r: ID!) { sendMessage(roomId: $r, body: "during", clientMessageId: "during-outage") { seq } }`,
        { r: rooms[0]!.id },
        rooms[0]!.members[0]!.token,
      );
      outageCallMs = Date.now() - started;
      expect(during.errors?.[0]?.extensions?.code).toMatch(/COMMAND_TIMEOUT|SERVICE_UNAVAILABLE/);
      await start({ port, log: () => {} });
    },
    // That call may or may not have been applied later; if it was, it counts as acknowledged.
    beforeCheck: async (result, rooms) => {
      const [late] = await s.db<
        { id: string; seq: number }[]
      >`select id, seq from messages where client_message_id = 'during-outage'`;
      if (late) result.acknowledged.set("during-outage", { roomId: rooms[0]!.id, id: late.id, seq: late.seq });
    },
    figures: async () => ({ outageCallMs }),
  });
  expect(outageCallMs).toBeLessThan(15_000); // COMMAND_TIMEOUT_MS is 5 s: nothing hangs
  expect(run.stored).toBe(run.acknowledged);
  expect(run.acknowledged).toBeGreaterThanOrEqual(TOTAL);
});

it("retries through a PostgreSQL outage mid-stream and loses nothing", async () => {
  const proxy = await startPgProxy();
  cleanups.push(() => proxy.close());
  const s = (scenario = await Scenario.start(
    { apis: 1, workers: 1 },
    { DATABASE_URL: proxy.url(inject("databaseUrl")) },
  ));
  const run = await streamThroughFault({
    name: "PostgreSQL outage (4 s)",
    urls: s.urls,
    db: s.db,
    rooms: 5,
    total: TOTAL,
    fault: () => proxy.outage(4000),
    figures: async () => ({ workerBatchRetries: await s.workers[0]!.metric("chat_worker_batch_retries_total") }),
  });
  expect(run).toMatchObject({ acknowledged: TOTAL, stored: TOTAL, delivered: TOTAL, duplicates: 0 });
  expect(run.workerBatchRetries).toBeGreaterThan(0);
});
