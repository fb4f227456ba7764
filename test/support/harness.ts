import { randomUUID } from "node:crypto";
import { createClient, type Client } from "graphql-ws";
import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import { afterAll, beforeAll, inject } from "vitest";
import WebSocket from "ws";
import { startApp, type App, type Role } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config/env.js";
import { topicNames } from "../../src/kafka/client.js";
import { createLogger } from "../../src/shared/logger.js";

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; [key: string]: unknown } }>;
}

export interface TestApp {
  app: App;
  config: Config;
  url: string;
  wsUrl: string;
  /** Every SQL statement the app ran, in order, with its parameters. */
  queries: Array<{ sql: string; params: unknown[] }>;
  stop(): Promise<void>;
}

/** A direct connection to this run's database, for checks the API cannot make. */
export const testDatabase = () => postgres(inject("databaseUrl"), { max: 2, onnotice: () => {} });

/** A database connection for this test file, closed after its tests. */
export function useTestDatabase(): postgres.Sql {
  const db = testDatabase();
  afterAll(() => db.end());
  return db;
}

/**
 * The app for this test file: started before its tests, stopped after them. The returned
 * object stands for the running app once the tests run.
 */
export function useTestApp(options: Parameters<typeof startTestApp>[0] = {}): TestApp {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await startTestApp(options);
  });
  afterAll(async () => {
    await app?.stop();
  });
  return new Proxy({} as TestApp, {
    get(_, name) {
      if (!app) throw new Error("the test app is used before it started (outside a test?)");
      return app[name as keyof TestApp];
    },
  });
}

/** A unique, valid username fragment. */
export const uniqueName = (prefix = "u") => `${prefix}_${randomUUID().replace(/-/g, "").slice(0, 12)}`;

/** A test run signs up hundreds of users from one address and sends as fast as it can: not what the limits are for (test/rateLimits.test.ts is). */
export const LOAD_GENERATOR_LIMITS = {
  RATE_LIMIT_SIGNUP_PER_ADDRESS: "1000000",
  RATE_LIMIT_LOGIN_PER_ADDRESS: "1000000",
  RATE_LIMIT_MESSAGES_PER_USER: "1000000",
  RATE_LIMIT_MUTATIONS_PER_USER: "1000000",
  BUDGET_POINTS_PER_MINUTE: "1000000000",
  BUDGET_QUERY_MS_PER_MINUTE: "1000000000",
  GRAPHQL_MAX_CONCURRENT_QUERIES: "1000",
};

/**
 * The environment of app processes a test starts itself (AppProcess): the test database and
 * broker, topics of their own under `name`, and sign-ups from one address unlimited.
 */
export function processEnv(name: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: inject("databaseUrl"),
    KAFKA_BROKERS: inject("kafkaBrokers"),
    KAFKA_TOPIC_PREFIX: `${name}-${randomUUID().slice(0, 8)}.`,
    RATE_LIMIT_SIGNUP_PER_ADDRESS: "1000000",
    ...overrides,
  };
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: inject("databaseUrl"),
    KAFKA_BROKERS: inject("kafkaBrokers"),
    KAFKA_TOPIC_PREFIX: `test-${randomUUID().slice(0, 8)}.`,
    KAFKA_TOPIC_PARTITIONS: "3",
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "error",
    COMMAND_TIMEOUT_MS: "15000",
    ...LOAD_GENERATOR_LIMITS,
    ...overrides,
  });
}

/**
 * Starts the real app on a free port with its own topics: api + worker in one instance, or
 * with `separateWorker`, an api instance and a worker instance (so `queries` holds only the
 * API's statements, not those of consumers working in the background).
 */
export async function startTestApp(options: { config?: Config; separateWorker?: boolean } = {}): Promise<TestApp> {
  const config = options.config ?? testConfig();
  if (options.separateWorker) {
    const worker = await startApp({
      config,
      role: "worker",
      logger: createLogger(config.LOG_LEVEL, { test: true, role: "worker" }),
      onFatal: () => {},
    });
    const api = await startTestInstance(config, "api");
    return {
      ...api,
      stop: async () => {
        await api.app.stop();
        await worker.stop();
        await deleteTopics(config);
      },
    };
  }
  return startTestInstance(config, "all");
}

async function startTestInstance(config: Config, role: Role): Promise<TestApp> {
  const queries: TestApp["queries"] = [];
  const logger = createLogger(config.LOG_LEVEL, { test: true });
  const app = await startApp({
    config,
    role,
    logger,
    onFatal: (error) => logger.fatal({ err: error }, "fatal error in test app"),
    onQuery: (sql, params) => queries.push({ sql, params }),
  });
  const url = app.url ?? "";
  return {
    app,
    config,
    url,
    wsUrl: url.replace(/^http/, "ws"),
    queries,
    async stop() {
      await app.stop();
      await deleteTopics(config);
    },
  };
}

/** Removes a test's topics so repeated runs do not pile them up in the broker. */
export async function deleteTopics(config: Config): Promise<void> {
  const admin = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topicNames(config.KAFKA_TOPIC_PREFIX)) });
  } catch {
    // best effort: a broker that is gone takes its topics with it
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** POSTs one operation to /graphql. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

/** Like gql, but fails the test on any GraphQL error and returns `data`. */
export async function gqlOk<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const result = await gql<T>(url, query, variables, token);
  if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data as T;
}

export const errorCode = (result: GraphQLResponse) => result.errors?.[0]?.extensions?.code;

export interface TestUser {
  id: string;
  username: string;
  token: string;
}

export async function signUp(url: string, name = uniqueName()): Promise<TestUser> {
  const data = await gqlOk<{ signUp: { token: string; user: { id: string; username: string } } }>(
    url,
    `mutation($u: String!, $p: String!, $d: String!) { signUp(username: $u, password: $p, displayName: $d) { token user { id username } } }`,
    { u: name, p: "correct horse battery", d: `Name ${name}` },
  );
  return { id: data.signUp.user.id, username: data.signUp.user.username, token: data.signUp.token };
}

/** `user` adds `others` as friends (room members must be the creator's friends). */
export async function befriend(url: string, user: TestUser, others: TestUser[]): Promise<void> {
  await gqlOk(
    url,
    `mutation($ids: [ID!]!) { addFriends(userIds: $ids) { id } }`,
    { ids: others.map((o) => o.id) },
    user.token,
  );
}

/** A room created by `creator` with `members`, made friends first. */
export async function createRoom(url: string, creator: TestUser, members: TestUser[], name = "room"): Promise<string> {
  if (members.length > 0) await befriend(url, creator, members);
  const data = await gqlOk<{ createRoom: { id: string } }>(
    url,
    `mutation($name: String!, $ids: [ID!]!) { createRoom(name: $name, memberIds: $ids) { id } }`,
    { name, ids: members.map((m) => m.id) },
    creator.token,
  );
  return data.createRoom.id;
}

/** A graphql-ws subscription whose results are collected; wait on them with `waitFor`. */
export class TestSubscription<T = Record<string, any>> {
  readonly results: GraphQLResponse<T>[] = [];
  completed = false;
  error: unknown = null;
  private readonly listeners = new Set<() => void>();
  private readonly dispose: () => void;

  constructor(
    readonly client: Client,
    query: string,
    variables: Record<string, unknown>,
    extensions?: Record<string, unknown>,
  ) {
    this.dispose = client.subscribe<T>(
      { query, variables, ...(extensions ? { extensions } : {}) },
      {
        next: (value) => {
          this.results.push(value as GraphQLResponse<T>);
          this.notify();
        },
        error: (error) => {
          this.error = error;
          this.completed = true;
          this.notify();
        },
        complete: () => {
          this.completed = true;
          this.notify();
        },
      },
    );
  }

  get data(): T[] {
    return this.results.filter((r) => r.data).map((r) => r.data as T);
  }

  /** Resolves when `predicate` holds, re-checked after every event; rejects after `timeoutMs`. */
  waitFor(predicate: (sub: this) => boolean, timeoutMs = 20_000, what = "subscription condition"): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.results)}`));
      }, timeoutMs);
      const check = () => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }

  /**
   * Calls `send(attempt)` until a result arrives: a subscription is live some time after its
   * subscribe message is sent, and what was published before that is not delivered.
   */
  async sendUntilReceived(send: (attempt: number) => Promise<void>, attempts = 40): Promise<void> {
    for (let attempt = 0; this.data.length === 0; attempt++) {
      if (attempt >= attempts)
        throw new Error(`no result after ${attempts} sends: ${JSON.stringify(this.results)} ${String(this.error)}`);
      await send(attempt);
      await this.waitFor((s) => s.data.length > 0, 500, "a result").catch(() => {});
    }
  }

  close(): void {
    this.dispose();
  }

  private notify() {
    for (const l of [...this.listeners]) l();
  }
}

/** A graphql-ws client that connects with `connectionParams.authorization`. */
export function wsClient(wsUrl: string, token?: string): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    onNonLazyError: () => {},
  });
}
