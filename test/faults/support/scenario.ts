import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";
import { AppProcess } from "../../../scripts/app-process.js";
import { LOAD_GENERATOR_LIMITS } from "../../support/harness.js";

/** Real api and worker processes sharing one database and a topic prefix of their own. */
export class Scenario {
  readonly apis: AppProcess[] = [];
  readonly workers: AppProcess[] = [];
  readonly db = postgres(inject("databaseUrl"), { max: 2, onnotice: () => {} });
  readonly env: Record<string, string>;

  constructor(env: Record<string, string> = {}) {
    this.env = {
      DATABASE_URL: inject("databaseUrl"),
      KAFKA_BROKERS: inject("kafkaBrokers"),
      KAFKA_TOPIC_PREFIX: `fault-${randomUUID().slice(0, 8)}.`,
      KAFKA_TOPIC_PARTITIONS: "4",
      KAFKA_SESSION_TIMEOUT_MS: "6000",
      COMMAND_TIMEOUT_MS: "5000",
      ...LOAD_GENERATOR_LIMITS,
      ...env,
    };
  }

  static async start(counts: { apis: number; workers: number }, env: Record<string, string> = {}): Promise<Scenario> {
    const scenario = new Scenario(env);
    try {
      // The first process creates the topics and applies migrations; the rest start together.
      await scenario.startWorker();
      await Promise.all([
        ...Array.from({ length: counts.workers - 1 }, () => scenario.startWorker()),
        ...Array.from({ length: counts.apis }, () => scenario.startApi()),
      ]);
    } catch (error) {
      await scenario.stop();
      throw error;
    }
    return scenario;
  }

  async startWorker(env: Record<string, string> = {}): Promise<AppProcess> {
    const worker = await AppProcess.start("worker", { ...this.env, ...env });
    this.workers.push(worker);
    return worker;
  }

  async startApi(): Promise<AppProcess> {
    const api = await AppProcess.start("api", this.env);
    this.apis.push(api);
    return api;
  }

  /** GraphQL URLs of the API processes still running. */
  urls = (): string[] =>
    this.apis.filter((a) => a.child.exitCode === null && a.child.signalCode === null).map((a) => a.url);

  async stop(): Promise<void> {
    await Promise.all([...this.apis, ...this.workers].map((p) => p.stop()));
    await this.db.end();
  }
}
