/**
 * Brings up what the suite needs, once: a real Kafka broker (reused when one answers on
 * KAFKA_BROKERS, otherwise the project's managed broker, stopped again at the end) and a
 * fresh PostgreSQL database for this run (dropped at the end).
 */
import type { TestProject } from "vitest/node";
import { createTestDatabase, kafkaAnswers, startBroker } from "../../scripts/local-services.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    kafkaBrokers: string;
  }
}

export default async function setup(project: TestProject) {
  const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
  let stopBroker = async () => {};
  if (await kafkaAnswers(brokers)) {
    console.log(`[test setup] using the Kafka broker at ${brokers.join(",")}`);
  } else {
    stopBroker = await startBroker(Number(brokers[0]!.split(":")[1]), "test setup");
  }
  const database = await createTestDatabase("chat_test");
  project.provide("databaseUrl", database.url);
  project.provide("kafkaBrokers", brokers.join(","));

  return async () => {
    await database.drop();
    await stopBroker();
  };
}
