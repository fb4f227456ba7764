import type { Admin, Kafka } from "kafkajs";
import { createTokenService } from "./auth/tokens.js";
import type { EventBus } from "./commands/ports.js";
import type { Config, Role } from "./config/env.js";
import { openDatabase, type DatabaseHandle } from "./db/client.js";
import { allCommands, deletionHooks } from "./features/index.js";
import { buildSchema } from "./api/schema.js";
import { createServices, loadApiFeatures } from "./api/services.js";
import type { ApiFeature, Services } from "./features/module.js";
import {
  createKafka,
  ensureTopics,
  topicSettings,
  groupNames,
  kafkaSecurity,
  topicNames,
  type Groups,
  type Topics,
} from "./kafka/client.js";
import { KafkaCommandBus } from "./api/commandBus.js";
import { startCommandLogPruner } from "./worker/commandLogPruner.js";
import { CommandRegistry } from "./worker/applyCommands.js";
import { CommandConsumer } from "./worker/commandConsumer.js";
import { createEventBus } from "./api/eventBus.js";
import { createEventLogConsumer } from "./worker/eventLogConsumer.js";
import { ModerationConsumer } from "./worker/moderationConsumer.js";
import { consumerLag } from "./kafka/lag.js";
import type { Logger } from "./shared/logger.js";
import { createMetrics, type Metrics } from "./shared/metrics.js";
import { tracing } from "./shared/tracing.js";
import { createRateLimits } from "./graphql/rateLimits.js";
import { UsageBudget } from "./api/usageBudget.js";
import { TrustedDocuments } from "./api/trustedDocuments.js";
import { trustedDocumentsFile } from "./shared/paths.js";
import { startHttpServer, type GraphQLEndpointOptions, type ReadinessCheck } from "./api/httpServer.js";

export { roles, type Role } from "./config/env.js";

export interface App {
  /** The GraphQL endpoint, when this process serves the API. */
  url: string | null;
  /** Where /healthz, /readyz and /metrics are served. */
  origin: string;
  port: number;
  stop(): Promise<void>;
}

export interface AppOptions {
  config: Config;
  role: Role;
  logger: Logger;
  /** A part failed for good (e.g. a Kafka consumer that cannot restart). */
  onFatal(error: unknown): void;
  /** Observes every SQL statement (tests count them). */
  onQuery?: (sql: string, params: unknown[]) => void;
}

/** The started parts of a process, stopped in reverse order. */
class Parts {
  private readonly stack: Array<{ name: string; stop: () => Promise<void> }> = [];
  constructor(private readonly logger: Logger) {}

  add(name: string, stop: () => Promise<void>) {
    this.stack.push({ name, stop });
  }

  async stopAll() {
    for (const part of this.stack.reverse()) {
      try {
        this.logger.debug({ part: part.name }, "stopping");
        await part.stop();
      } catch (error) {
        this.logger.warn({ err: error, part: part.name }, "error while stopping");
      }
    }
    this.stack.length = 0;
  }
}

/** What the role starters share. */
interface Base {
  config: Config;
  logger: Logger;
  onFatal(error: unknown): void;
  parts: Parts;
  metrics: Metrics;
  database: DatabaseHandle;
  kafka: Kafka;
  admin: Admin;
  topics: Topics;
  groups: Groups;
}

/**
 * The one place that wires environment -> database -> Kafka -> PubSub -> servers, and
 * takes them down in reverse order. Every `start` here resolves only when its part is ready.
 */
export async function startApp(options: AppOptions): Promise<App> {
  const { config, role, logger } = options;
  const parts = new Parts(logger);
  try {
    if (!config.DATABASE_URL && role !== "all") {
      throw new Error(`role '${role}' needs DATABASE_URL: embedded PGlite cannot be shared between processes`);
    }
    // First, so that it stops last: spans of the shutdown are flushed too.
    const stopTracing = await tracing.start(config, role, logger);
    if (stopTracing) parts.add("tracing", stopTracing);
    const metrics = createMetrics();
    const database = await startDatabase(options, parts);
    const base: Base = { ...options, parts, metrics, database, ...(await startKafka(config, logger, parts)) };
    registerLagGauge(base);
    const readiness: ReadinessCheck[] = [
      { name: "database", check: () => database.ping() },
      { name: "kafka", check: async () => void (await base.admin.describeCluster()) },
    ];
    if (role === "all" || role === "worker") await startWorkerRole(base);
    if (role === "all" || role === "moderation") await startModerationRole(base);
    const api = role === "all" || role === "api" ? await startApiRole(base, readiness) : undefined;

    const server = await startHttpServer({
      logger: logger.child({ component: "http" }),
      host: config.HOST,
      port: config.PORT,
      opsPort: config.OPS_PORT,
      opsHost: config.OPS_HOST,
      metrics,
      readiness,
      graphql: api?.graphql,
    });
    parts.add("http server", () => server.stop());
    // Events are wanted by open sockets (subscriptions, presence, sessions) and awaited commands.
    if (api) api.events.setDemand(() => server.connections > 0 || api.commands.awaiting > 0);
    metrics.gauge("chat_websocket_connections", "Open WebSocket connections.", [], (g) => g.set(server.connections));
    metrics.gauge("chat_subscriptions", "Open messageAdded subscriptions.", [], (g) =>
      g.set(api?.events.subscriptionCount ?? 0),
    );
    metrics.gauge(
      "chat_event_consumer_paused",
      "1 while this API process serves nobody and its event consumer is paused (API_IDLE_PAUSE_MS).",
      [],
      (g) => g.set(api?.events.paused ? 1 : 0),
    );
    return {
      url: api ? `${server.origin}/graphql` : null,
      origin: server.origin,
      port: server.port,
      stop: () => parts.stopAll(),
    };
  } catch (error) {
    await parts.stopAll();
    throw error;
  }
}

async function startDatabase({ config, logger, onQuery }: AppOptions, parts: Parts) {
  const database = await openDatabase({
    url: config.DATABASE_URL,
    pgliteDir: config.PGLITE_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
    lockTimeoutMs: config.DATABASE_LOCK_TIMEOUT_MS,
    logger,
    onQuery,
  });
  parts.add("database", () => database.close());
  await database.migrate();
  logger.info({ database: database.kind }, "database ready");
  return database;
}

/** A Kafka client, the fixed topics (created if missing) and an admin client for gauges and readiness. */
async function startKafka(config: Config, logger: Logger, parts: Parts) {
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    logger,
    ...kafkaSecurity(config),
  });
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  await ensureTopics(kafka, topics, topicSettings(config), logger.child({ component: "kafka" }));
  const admin = kafka.admin();
  await admin.connect();
  parts.add("kafka admin", () => admin.disconnect());
  return { kafka, admin, topics, groups: groupNames(config.KAFKA_TOPIC_PREFIX, config.KAFKA_WORKER_GROUP) };
}

function registerLagGauge({ config, metrics, admin, topics, groups }: Base) {
  metrics.gauge(
    "chat_consumer_lag",
    "Records not yet consumed, per consumer group.",
    ["group", "topic"],
    async (gauge) => {
      const lags = await consumerLag(admin, [
        { groupId: groups.workers, topic: topics.commands },
        ...(config.EVENT_LOG_ENABLED ? [{ groupId: groups.eventLog, topic: topics.events }] : []),
      ]);
      gauge.reset();
      for (const { groupId, topic, lag } of lags) gauge.set({ group: groupId, topic }, lag);
    },
  );
}

/** The command worker, the command-log pruner and (unless disabled) the event-log consumer. */
async function startWorkerRole({ config, logger, onFatal, parts, metrics, database, kafka, topics, groups }: Base) {
  const worker = new CommandConsumer({
    kafka,
    topics,
    groupId: groups.workers,
    db: database.db,
    commands: new CommandRegistry(allCommands, { hooks: deletionHooks }),
    logger: logger.child({ component: "worker" }),
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    transactionSize: config.WORKER_TRANSACTION_SIZE,
    concurrency: config.WORKER_CONCURRENCY ?? config.KAFKA_TOPIC_PARTITIONS,
    fetchWaitMs: config.WORKER_FETCH_WAIT_MS,
    metrics,
    onFatal,
  });
  await worker.start();
  parts.add("command worker", () => worker.stop());
  const pruner = startCommandLogPruner({
    db: database.db,
    retentionHours: config.COMMAND_LOG_RETENTION_HOURS,
    logger: logger.child({ component: "command-log" }),
  });
  parts.add("command log pruner", pruner.stop);
  if (!config.EVENT_LOG_ENABLED) return;
  const eventLog = createEventLogConsumer({
    kafka,
    topic: topics.events,
    groupId: groups.eventLog,
    db: database.db,
    logger: logger.child({ component: "event-log" }),
    metrics,
    onFatal,
  });
  await eventLog.start();
  parts.add("event-log consumer", () => eventLog.stop());
}

/** The moderation consumer: reports and floods in, hidden messages and mutes out (as commands). */
async function startModerationRole({ config, logger, onFatal, parts, kafka, topics, groups }: Base) {
  const moderation = new ModerationConsumer({
    kafka,
    topics,
    groupId: groups.moderation,
    policy: {
      reportsToHide: config.MODERATION_REPORTS_TO_HIDE,
      floodRooms: config.MODERATION_FLOOD_ROOMS,
      floodWindowMs: config.MODERATION_FLOOD_WINDOW_SECONDS * 1000,
      muteMs: config.MODERATION_MUTE_MINUTES * 60_000,
    },
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    logger: logger.child({ component: "moderation" }),
    onFatal,
  });
  await moderation.start();
  parts.add("moderation consumer", () => moderation.stop());
}

/** The event bus, the command bus and the services behind the GraphQL endpoint. */
async function startApiRole(base: Base, readiness: ReadinessCheck[]) {
  const { config, logger, parts, database } = base;
  const { events, commands } = await startBuses(base, readiness);
  const apiFeatures = await loadApiFeatures();
  const services = createServices(
    {
      config,
      logger,
      db: database.db,
      commands,
      events,
      tokens: createTokenService(config.JWT_SECRET, config.TOKEN_TTL),
      rateLimits: createRateLimits(database.db, {
        logInPerAddressAndUsername: config.RATE_LIMIT_LOGIN_PER_ADDRESS_AND_USERNAME,
        logInPerAddress: config.RATE_LIMIT_LOGIN_PER_ADDRESS,
        signUpPerAddress: config.RATE_LIMIT_SIGNUP_PER_ADDRESS,
        messagesPerUser: config.RATE_LIMIT_MESSAGES_PER_USER,
        mutationsPerUser: config.RATE_LIMIT_MUTATIONS_PER_USER,
        typingPerUser: config.RATE_LIMIT_TYPING_PER_USER,
      }),
    },
    apiFeatures,
  );
  const usage = new UsageBudget(
    database.db,
    { pointsPerMinute: config.BUDGET_POINTS_PER_MINUTE, timeMsPerMinute: config.BUDGET_QUERY_MS_PER_MINUTE },
    logger,
  );
  parts.add("usage budget", async () => usage.stop());
  for (const feature of apiFeatures) {
    const { stop } = feature;
    if (stop) parts.add(`${feature.name} feature`, () => stop(services));
  }
  return { graphql: endpointOptions(config, services, usage, apiFeatures), events, commands };
}

/** The event bus (every event, for subscriptions and answers) and the command bus on top of it. */
async function startBuses(
  { config, logger, parts, metrics, kafka, topics, groups }: Base,
  readiness: ReadinessCheck[],
) {
  const events: EventBus = createEventBus({
    kafka,
    topic: topics.events,
    groupPrefix: groups.apiPrefix,
    commands: { topic: topics.commands, workerGroup: groups.workers },
    logger: logger.child({ component: "events" }),
    queueLimit: config.SUBSCRIPTION_QUEUE_LIMIT,
    idlePauseMs: config.API_IDLE_PAUSE_MS,
    onRoomEvent: (event) => {
      if (event.type === "MessageAdded" && event.issuedAt)
        metrics.deliveryLatency.observe((Date.now() - Date.parse(event.issuedAt)) / 1000);
    },
  });
  await events.start();
  parts.add("event bus", () => events.stop());
  readiness.push({
    name: "events",
    check: async () => {
      if (!events.connected) throw new Error("event consumer is not connected");
    },
  });
  const commands = new KafkaCommandBus({
    kafka,
    topic: topics.commands,
    answers: events,
    timeoutMs: config.COMMAND_TIMEOUT_MS,
    lingerMs: config.COMMAND_LINGER_MS,
    logger: logger.child({ component: "commands" }),
    metrics,
  });
  await commands.start();
  parts.add("command bus", () => commands.stop());
  return { events, commands };
}

function endpointOptions(
  config: Config,
  services: Services,
  usage: UsageBudget,
  apiFeatures: readonly ApiFeature[],
): GraphQLEndpointOptions {
  return {
    schema: buildSchema(apiFeatures),
    services,
    connectionListeners: apiFeatures.flatMap((f) => f.connections?.(services) ?? []),
    production: config.NODE_ENV === "production",
    trustProxy: config.TRUST_PROXY,
    trustedDocuments: TrustedDocuments.load(
      config.TRUSTED_DOCUMENTS_FILE ?? trustedDocumentsFile,
      config.TRUSTED_DOCUMENTS,
    ),
    limits: {
      maxDepth: config.GRAPHQL_MAX_DEPTH,
      maxAliases: config.GRAPHQL_MAX_ALIASES,
      maxDirectives: config.GRAPHQL_MAX_DIRECTIVES,
      maxTokens: config.GRAPHQL_MAX_TOKENS,
      maxCost: config.GRAPHQL_MAX_COST,
      maxNameLength: config.GRAPHQL_MAX_NAME_LENGTH,
    },
    budgets: {
      maxResponseBytes: config.GRAPHQL_MAX_RESPONSE_BYTES,
      maxEventBytes: config.GRAPHQL_MAX_EVENT_BYTES,
      maxConcurrentQueries: config.GRAPHQL_MAX_CONCURRENT_QUERIES,
      usage,
    },
    connectionLimits: {
      maxSubscriptionsPerSocket: config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
      maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
      unauthenticatedTimeoutMs: config.WS_UNAUTHENTICATED_TIMEOUT_MS,
      keepAliveMs: config.WS_KEEPALIVE_MS,
      maxUnauthenticatedPerAddress: config.WS_MAX_UNAUTHENTICATED_PER_ADDRESS,
    },
  };
}
