import { randomUUID } from "node:crypto";
import { expect, inject, it } from "vitest";
import { AppProcess } from "../scripts/app-process.js";
import { deleteTopics, testConfig } from "./support/harness.js";

it("stops cleanly on SIGTERM, as configured for production", async () => {
  const prefix = `test-${randomUUID().slice(0, 8)}.`;
  const app = await AppProcess.start("all", {
    NODE_ENV: "production",
    JWT_SECRET: "lifecycle-test-secret-lifecycle-test-secret",
    LOG_LEVEL: "info",
    DATABASE_URL: inject("databaseUrl"),
    KAFKA_BROKERS: inject("kafkaBrokers"),
    KAFKA_TOPIC_PREFIX: prefix,
  });
  const started = Date.now();
  app.child.kill("SIGTERM");
  const code = await app.exited;
  await deleteTopics(testConfig({ KAFKA_TOPIC_PREFIX: prefix }));
  expect(code).toBe(0);
  expect(Date.now() - started).toBeLessThan(10_000);
  // Every part was stopped in order, ending with the database.
  expect(app.logs()).toMatch(/"msg":"shutting down"[\s\S]*"msg":"stopped"/);
});
