/** How long the worker waits before it tries a failed chunk again (commandConsumer.ts). */
import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../src/worker/commandConsumer.js";

describe("retrying a chunk", () => {
  it("spreads the retries of a lost lock race, so two workers that met do not meet again in step", () => {
    const first = Array.from({ length: 200 }, () => retryDelayMs(1, "contended"));
    expect(Math.min(...first)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...first)).toBeLessThan(50);
    expect(new Set(first).size).toBeGreaterThan(20);
    // The spread widens with each attempt, up to the cap.
    expect(retryDelayMs(4, "contended", () => 0.99)).toBeGreaterThan(retryDelayMs(1, "contended", () => 0.99) * 4);
    expect(retryDelayMs(30, "contended", () => 0.99)).toBeLessThanOrEqual(5_000);
  });

  it("backs off exponentially from a database that is away, up to 5 s", () => {
    expect([1, 2, 3, 10].map((attempt) => retryDelayMs(attempt, "unavailable"))).toEqual([200, 400, 800, 5_000]);
  });
});
