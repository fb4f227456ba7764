import type { Admin } from "kafkajs";
import { createTokenService } from "./auth/tokens.js";
import type { AnyCommand } from "./commands/protocol.js";
import type { Config } from "./config/env.js";
import { openDatabase, type DatabaseHandle } from "./db/client.js";
import { friendCommands } from "./features/friends/friends.commands.js";
import { messageCommands } from "./features/messages/messages.commands.js";
import { roomCommands } from "./features/rooms/rooms.commands.js";
import { savedCommands } from "./features/saved/saved.commands.js";
import { userCommands } from "./features/users/users.commands.js";
import { buildSchema } from "./graphql/schema.js";
import { createServices } from "./graphql/services.js";
import { createKafka, ensureTopics, topicNames } from "./kafka/client.js";
import { createCommandBus } from "./kafka/commandBus.js";
import { createCommandWorker } from "./kafka/commandWorker.js";
import { createEventBus } from "./kafka/eventBus.js";
import type { Logger } from "./logger.js";
import { startApiServer } from "./server/apiServer.js";

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
  port: number | null;
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
  const { config, role, logger } = options;
  const stack: Array<{ name: string; stop: () => Promise<void> }> = [];
  const stopAll = async () => {
    for (const part of stack.reverse()) {
      try {
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
    const database: DatabaseHandle = await openDatabase({
      url: config.DATABASE_URL,
      pgliteDir: config.PGLITE_DIR,
      poolSize: config.DATABASE_POOL_SIZE,
      logger,
      onQuery: options.onQuery,
    });
    stack.push({ name: "database", stop: () => database.close() });
    await database.migrate();
    logger.info({ database: database.kind }, "database ready");

    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger });
    const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
    await ensureTopics(kafka, topics, {
      partitions: config.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    });
    const admin: Admin = kafka.admin();
    await admin.connect();
    stack.push({ name: "kafka admin", stop: () => admin.disconnect() });

    if (role === "all" || role === "worker") {
      const worker = createCommandWorker({
        kafka,
        topics,
        groupId: `${config.KAFKA_TOPIC_PREFIX}${config.KAFKA_WORKER_GROUP}`,
        db: database.db,
        commands: allCommands,
        logger: logger.child({ component: "worker" }),
        onFatal: options.onFatal,
      });
      await worker.start();
      stack.push({ name: "command worker", stop: () => worker.stop() });
    }

    let url: string | null = null;
    let port: number | null = null;
    if (role === "all" || role === "api") {
      const events = createEventBus({
        kafka,
        topic: topics.events,
        groupPrefix: `${config.KAFKA_TOPIC_PREFIX}chat-api`,
        logger: logger.child({ component: "events" }),
        queueLimit: config.SUBSCRIPTION_QUEUE_LIMIT,
        onFatal: options.onFatal,
      });
      await events.start();
      stack.push({ name: "event bus", stop: () => events.stop() });

      const commands = createCommandBus({
        kafka,
        topic: topics.commands,
        events,
        timeoutMs: config.COMMAND_TIMEOUT_MS,
        logger: logger.child({ component: "commands" }),
      });
      await commands.start();
      stack.push({ name: "command bus", stop: () => commands.stop() });

      const services = createServices({
        db: database.db,
        commands,
        events,
        tokens: createTokenService(config.JWT_SECRET, config.TOKEN_TTL),
      });
      const server = await startApiServer({
        schema: buildSchema(),
        services,
        logger: logger.child({ component: "http" }),
        host: config.HOST,
        port: config.PORT,
        production: config.NODE_ENV === "production",
        readiness: [
          { name: "database", check: () => database.ping() },
          { name: "kafka", check: async () => void (await admin.describeCluster()) },
          {
            name: "events",
            check: async () => {
              if (!events.connected) throw new Error("event consumer is not connected");
            },
          },
        ],
      });
      stack.push({ name: "api server", stop: () => server.stop() });
      url = server.url;
      port = server.port;
    }

    return { url, port, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
