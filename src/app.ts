import type { Admin } from "kafkajs";
import { createTokenService } from "./auth/tokens.js";
import type { AnyCommand } from "./commands/protocol.js";
import type { Config } from "./config/env.js";
import { openDatabase } from "./db/client.js";
import { friendCommands } from "./features/friends/friends.commands.js";
import { messageCommands } from "./features/messages/messages.commands.js";
import { roomCommands } from "./features/rooms/rooms.commands.js";
import { savedCommands } from "./features/saved/saved.commands.js";
import { userCommands } from "./features/users/users.commands.js";
import { buildSchema } from "./graphql/schema.js";
import { createRateLimits } from "./rateLimits.js";
import { createServices } from "./graphql/services.js";
import { createKafka, ensureTopics, groupNames, kafkaSecurity, topicNames } from "./kafka/client.js";
import { createCommandBus } from "./kafka/commandBus.js";
import { createCommandWorker } from "./kafka/commandWorker.js";
import { createEventBus, type EventBus } from "./kafka/eventBus.js";
import { startCommandLogPruner } from "./kafka/commandLogPruner.js";
import { createEventLogConsumer } from "./kafka/eventLogConsumer.js";
import { consumerLag } from "./kafka/lag.js";
import type { Logger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { startHttpServer, type GraphQLEndpointOptions, type ReadinessCheck } from "./server/httpServer.js";

/** Which parts this process runs: both in one process for development, or one role each. */
export type Role = "all" | "api" | "worker";
export const roles: readonly Role[] = ["all", "api", "worker"];

/** Every command type the workers apply. */
export const allCommands: readonly AnyCommand[] = [
  ...userCommands,
  ...friendCommands,
  ...roomCommands,
  ...messageCommands,
  ...savedCommands,
];

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

/**
 * The one place that wires environment -> database -> Kafka -> PubSub -> servers, and
 * takes them down in reverse order. Every `start` here resolves only when its part is ready.
 */
export async function startApp(options: AppOptions): Promise<App> {
  const { config, role, logger, onFatal } = options;
  const runsWorker = role === "all" || role === "worker";
  const runsApi = role === "all" || role === "api";
  const stack: Array<{ name: string; stop: () => Promise<void> }> = [];
  const stopAll = async () => {
    for (const part of stack.reverse()) {
      try {
        logger.debug({ part: part.name }, "stopping");
        await part.stop();
      } catch (error) {
        logger.warn({ err: error, part: part.name }, "error while stopping");
      }
    }
    stack.length = 0;
  };

  try {
    if (!config.DATABASE_URL && role !== "all") {
      throw new Error(`role '${role}' needs DATABASE_URL: embedded PGlite cannot be shared between processes`);
    }
    const metrics = createMetrics();
    const database = await openDatabase({
      url: config.DATABASE_URL,
      pgliteDir: config.PGLITE_DIR,
      poolSize: config.DATABASE_POOL_SIZE,
      logger,
      onQuery: options.onQuery,
    });
    stack.push({ name: "database", stop: () => database.close() });
    await database.migrate();
    logger.info({ database: database.kind }, "database ready");

    const kafka = createKafka({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID,
      logger,
      ...kafkaSecurity(config),
    });
    const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
    await ensureTopics(kafka, topics, {
      partitions: config.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    });
    const admin: Admin = kafka.admin();
    await admin.connect();
    stack.push({ name: "kafka admin", stop: () => admin.disconnect() });

    const groups = groupNames(config.KAFKA_TOPIC_PREFIX, config.KAFKA_WORKER_GROUP);
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

    if (runsWorker) {
      const worker = createCommandWorker({
        kafka,
        topics,
        groupId: groups.workers,
        db: database.db,
        commands: allCommands,
        logger: logger.child({ component: "worker" }),
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        transactionSize: config.WORKER_TRANSACTION_SIZE,
        concurrency: config.WORKER_CONCURRENCY ?? config.KAFKA_TOPIC_PARTITIONS,
        fetchWaitMs: config.WORKER_FETCH_WAIT_MS,
        metrics,
        onFatal,
      });
      await worker.start();
      stack.push({ name: "command worker", stop: () => worker.stop() });
      const pruner = startCommandLogPruner({
        db: database.db,
        retentionHours: config.COMMAND_LOG_RETENTION_HOURS,
        logger: logger.child({ component: "command-log" }),
      });
      stack.push({ name: "command log pruner", stop: pruner.stop });

      if (config.EVENT_LOG_ENABLED) {
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
        stack.push({ name: "event-log consumer", stop: () => eventLog.stop() });
      }
    }

    const readiness: ReadinessCheck[] = [
      { name: "database", check: () => database.ping() },
      { name: "kafka", check: async () => void (await admin.describeCluster()) },
    ];
    let graphql: GraphQLEndpointOptions | undefined;
    let events: EventBus | undefined;
    if (runsApi) {
      const bus = createEventBus({
        kafka,
        topic: topics.events,
        groupPrefix: groups.apiPrefix,
        logger: logger.child({ component: "events" }),
        queueLimit: config.SUBSCRIPTION_QUEUE_LIMIT,
        onRoomEvent: (event) => {
          if (event.type === "MessageAdded" && event.issuedAt) {
            metrics.deliveryLatency.observe((Date.now() - Date.parse(event.issuedAt)) / 1000);
          }
        },
        onFatal,
      });
      events = bus;
      await bus.start();
      stack.push({ name: "event bus", stop: () => bus.stop() });
      readiness.push({
        name: "events",
        check: async () => {
          if (!bus.connected) throw new Error("event consumer is not connected");
        },
      });

      const commands = createCommandBus({
        kafka,
        topic: topics.commands,
        events: bus,
        timeoutMs: config.COMMAND_TIMEOUT_MS,
        lingerMs: config.COMMAND_LINGER_MS,
        logger: logger.child({ component: "commands" }),
        metrics,
      });
      await commands.start();
      stack.push({ name: "command bus", stop: () => commands.stop() });

      const services = createServices({
        db: database.db,
        commands,
        events: bus,
        tokens: createTokenService(config.JWT_SECRET, config.TOKEN_TTL),
        rateLimits: createRateLimits(database.db, {
          logInPerUsername: config.RATE_LIMIT_LOGIN_PER_USERNAME,
          logInPerAddress: config.RATE_LIMIT_LOGIN_PER_ADDRESS,
          signUpPerAddress: config.RATE_LIMIT_SIGNUP_PER_ADDRESS,
          messagesPerUser: config.RATE_LIMIT_MESSAGES_PER_USER,
          mutationsPerUser: config.RATE_LIMIT_MUTATIONS_PER_USER,
        }),
      });
      graphql = {
        schema: buildSchema(),
        services,
        production: config.NODE_ENV === "production",
        trustProxy: config.TRUST_PROXY,
        limits: {
          maxDepth: config.GRAPHQL_MAX_DEPTH,
          maxAliases: config.GRAPHQL_MAX_ALIASES,
          maxDirectives: config.GRAPHQL_MAX_DIRECTIVES,
          maxTokens: config.GRAPHQL_MAX_TOKENS,
          maxCost: config.GRAPHQL_MAX_COST,
        },
        connectionLimits: {
          maxSubscriptionsPerSocket: config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
          maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
          unauthenticatedTimeoutMs: config.WS_UNAUTHENTICATED_TIMEOUT_MS,
        },
      };
    }

    const server = await startHttpServer({
      logger: logger.child({ component: "http" }),
      host: config.HOST,
      port: config.PORT,
      opsPort: config.OPS_PORT,
      opsHost: config.OPS_HOST,
      metrics,
      readiness,
      graphql,
    });
    stack.push({ name: "http server", stop: () => server.stop() });
    metrics.gauge("chat_websocket_connections", "Open WebSocket connections.", [], (g) => g.set(server.connections));
    metrics.gauge("chat_subscriptions", "Open messageAdded subscriptions.", [], (g) =>
      g.set(events?.subscriptionCount ?? 0),
    );

    return {
      url: runsApi ? `${server.origin}/graphql` : null,
      origin: server.origin,
      port: server.port,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
