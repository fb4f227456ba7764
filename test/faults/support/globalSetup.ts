/**
 * The fault suite restarts its broker, so it always runs its own managed broker on a port of
 * its own (FAULT_KAFKA_PORT, default 19092), never the one other suites or users share.
 */
import type { TestProject } from "vitest/node";
import { createTestDatabase, startBroker } from "../../../scripts/local-services.js";

export default async function setup(project: TestProject) {
  const port = Number(process.env.FAULT_KAFKA_PORT ?? 19092);
  const stopBroker = await startBroker(port, "fault setup");
  const database = await createTestDatabase("chat_faults");
  project.provide("databaseUrl", database.url);
  project.provide("kafkaBrokers", `127.0.0.1:${port}`);
  return async () => {
    await database.drop();
    await stopBroker();
  };
}
