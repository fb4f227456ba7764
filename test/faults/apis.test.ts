import { afterEach, expect, it } from "vitest";
import { Scenario } from "./support/scenario.js";
import { streamThroughFault } from "./support/stream.js";

const TOTAL = 300;
let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.stop();
  scenario = undefined;
});

it("delivers every message to subscribers on either of two APIs, and across the loss of one", async () => {
  const s = (scenario = await Scenario.start({ apis: 2, workers: 2 }));
  const [first, second] = s.apis;
  const run = await streamThroughFault({
    name: "two APIs + two workers, kill -9 one API",
    urls: s.urls,
    db: s.db,
    rooms: 4,
    total: TOTAL,
    // Each room has a subscriber on each API: every API process must receive every event.
    subscribersOn: [0, 1],
    fault: () => first!.kill(),
  });
  expect(s.urls()).toEqual([second!.url]);
  expect(run).toMatchObject({ acknowledged: TOTAL, stored: TOTAL, delivered: TOTAL * 2, duplicates: 0 });
  // The subscribers that were on the killed API moved to the other one.
  expect(run.reconnects).toBeGreaterThanOrEqual(4);
});
