/** Shared by the test suites and the benchmark: a real broker and a fresh database per run. */
import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import { start, stop } from "./local-kafka.js";

export async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 2000,
  }).admin();
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

/** Starts the managed broker on `port`; the returned function stops it if this call started it. */
export async function startBroker(port: number, label: string): Promise<() => Promise<void>> {
  const { started } = await start({ port, log: (l) => console.log(`[${label}] ${l}`) });
  return async () => {
    if (started) await stop({ port, log: (l) => console.log(`[${label}] ${l}`) });
  };
}

/** Creates a database named for this run; the returned function drops it. */
export async function createTestDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const database = `${prefix}_${Date.now()}_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${database}"`);
  } catch (error) {
    await admin.end();
    throw new Error(
      `could not create the test database through ${adminUrl}: ${(error as Error).message}. Is PostgreSQL running?`,
    );
  }
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists "${database}" with (force)`);
      await admin.end();
    },
  };
}
