import { afterEach, expect, it } from "vitest";
import { Scenario } from "./support/scenario.js";
import { checkStored, createRooms, report, ResumingSubscriber, sendStream, waitForDeliveries } from "./support/stream.js";

const TOTAL = 300;
let scenario: Scenario | undefined;
let subscribers: ResumingSubscriber[] = [];

afterEach(async () => {
  await Promise.all(subscribers.map((s) => s.stop()));
  subscribers = [];
  await scenario?.stop();
  scenario = undefined;
});

it("delivers every message to subscribers on either of two APIs, and across the loss of one", async () => {
  scenario = await Scenario.start({ apis: 2, workers: 2 });
  const s = scenario;
  const [first, second] = s.apis;
  const rooms = await createRooms(first!.url, 4);
  // Each room has a subscriber on each API: every API process must receive every event.
  subscribers = rooms.flatMap((room) => [
    new ResumingSubscriber(s.urls, room.members[1]!, room.id, 0),
    new ResumingSubscriber(s.urls, room.members[1]!, room.id, 1),
  ]);
  subscribers.forEach((sub) => sub.start());

  let killed: Promise<void> | null = null;
  const result = await sendStream({
    urls: s.urls,
    rooms,
    total: TOTAL,
    concurrency: 8,
    onAcknowledged: (count) => {
      if (count === TOTAL / 3) killed = first!.kill();
    },
  });
  await killed;
  expect(killed).not.toBeNull();
  expect(s.urls()).toEqual([second!.url]);

  const stored = await checkStored(s.db, rooms, result);
  const delivery = await waitForDeliveries(subscribers, stored.perRoom, 90_000);
  report("two APIs + two workers, kill -9 one API", {
    sent: result.sent,
    acknowledged: result.acknowledged.size,
    stored: stored.stored,
    ...delivery,
    failedAttempts: result.failures,
  });
  expect(result.acknowledged.size).toBe(TOTAL);
  expect(stored.stored).toBe(TOTAL);
  expect(delivery.delivered).toBe(TOTAL * 2);
  expect(delivery.duplicates).toBe(0);
  // The subscribers that were on the killed API moved to the other one.
  expect(delivery.reconnects).toBeGreaterThanOrEqual(rooms.length);
});
