import { afterEach, expect, it } from "vitest";
import { Scenario } from "./support/scenario.js";
import { checkStored, createRooms, report, ResumingSubscriber, sendStream, waitForDeliveries } from "./support/stream.js";

const TOTAL = 300;
const ROOMS = 5;
let scenario: Scenario | undefined;
let subscribers: ResumingSubscriber[] = [];

afterEach(async () => {
  await Promise.all(subscribers.map((s) => s.stop()));
  subscribers = [];
  await scenario?.stop();
  scenario = undefined;
});

async function runWithFault(name: string, counts: { apis: number; workers: number }, fault: (s: Scenario) => Promise<void>) {
  scenario = await Scenario.start(counts);
  const s = scenario;
  const rooms = await createRooms(s.urls()[0]!, ROOMS);
  subscribers = rooms.map((room) => new ResumingSubscriber(s.urls, room.members[1]!, room.id));
  subscribers.forEach((sub) => sub.start());

  let faulted: Promise<void> | null = null;
  const result = await sendStream({
    urls: s.urls,
    rooms,
    total: TOTAL,
    concurrency: 8,
    onAcknowledged: (count) => {
      if (count === Math.floor(TOTAL / 3)) faulted = fault(s);
    },
  });
  await faulted;
  expect(faulted, "the fault was injected mid-stream").not.toBeNull();

  const stored = await checkStored(s.db, rooms, result);
  const delivery = await waitForDeliveries(subscribers, stored.perRoom);
  report(name, { sent: result.sent, acknowledged: result.acknowledged.size, stored: stored.stored, ...delivery, failedAttempts: result.failures });
  expect(result.acknowledged.size).toBe(TOTAL);
  expect(stored.stored).toBe(TOTAL);
  expect(delivery.delivered).toBe(TOTAL);
  expect(delivery.duplicates).toBe(0);
}

it("loses and doubles nothing when a worker is killed with -9 while another runs", async () => {
  await runWithFault("kill -9 one of two workers", { apis: 1, workers: 2 }, async (s) => {
    await s.workers[0]!.kill();
  });
});

it("loses and doubles nothing when the only worker is killed with -9 and restarted", async () => {
  await runWithFault("kill -9 the only worker, restart it", { apis: 1, workers: 1 }, async (s) => {
    await s.workers[0]!.kill();
    await s.startWorker();
  });
});
