/**
 * Brings up what the suite needs, once: a real Kafka broker (reused when one answers on
 * KAFKA_BROKERS, otherwise the project's managed broker, stopped again at the end) and a
 * fresh PostgreSQL database for this run (dropped at the end).
 */
import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { start, stop } from "../../scripts/local-kafka.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    kafkaBrokers: string;
  }
}

async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 2000 }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export default async function setup(project: TestProject) {
  const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
  let startedBroker = false;
  if (await kafkaAnswers(brokers)) {
    console.log(`[test setup] using the Kafka broker at ${brokers.join(",")}`);
  } else {
    const port = Number(brokers[0]!.split(":")[1]);
    startedBroker = (await start({ port, log: (l) => console.log(`[test setup] ${l}`) })).started;
  }

  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const database = `chat_test_${Date.now()}_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${database}"`);
  } catch (error) {
    await admin.end();
    throw new Error(`could not create the test database through ${adminUrl}: ${(error as Error).message}. Is PostgreSQL running?`);
  }
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  project.provide("databaseUrl", url.toString());
  project.provide("kafkaBrokers", brokers.join(","));

  return async () => {
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
    await admin.end();
    if (startedBroker) await stop({ log: (l) => console.log(`[test teardown] ${l}`) });
  };
}
