import { afterEach, expect, it } from "vitest";
import { Scenario } from "./support/scenario.js";
import { streamThroughFault } from "./support/stream.js";

const TOTAL = 300;
let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.stop();
  scenario = undefined;
});

it("loses and doubles nothing when a worker is killed with -9 while another runs", async () => {
  const s = (scenario = await Scenario.start({ apis: 1, workers: 2 }));
  const run = await streamThroughFault({
    name: "kill -9 one of two workers",
    urls: s.urls,
    db: s.db,
    rooms: 5,
    total: TOTAL,
    fault: () => s.workers[0]!.kill(),
  });
  expect(run).toMatchObject({ acknowledged: TOTAL, stored: TOTAL, delivered: TOTAL, duplicates: 0 });
});

it("loses and doubles nothing when the only worker is killed with -9 and restarted", async () => {
  const s = (scenario = await Scenario.start({ apis: 1, workers: 1 }));
  const run = await streamThroughFault({
    name: "kill -9 the only worker, restart it",
    urls: s.urls,
    db: s.db,
    rooms: 5,
    total: TOTAL,
    fault: async () => {
      await s.workers[0]!.kill();
      await s.startWorker();
    },
  });
  expect(run).toMatchObject({ acknowledged: TOTAL, stored: TOTAL, delivered: TOTAL, duplicates: 0 });
});
