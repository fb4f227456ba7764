import { existsSync } from "node:fs";
// app.js (the whole app) is imported once the configuration is valid: a process that exits on
// bad configuration loads almost nothing.
import type { App, AppOptions } from "./app.js";
import { ConfigError, loadConfig, roles, type Role } from "./config/env.js";
import { createLogger, type Logger } from "./shared/logger.js";
import { webDistDir } from "./shared/paths.js";

/** How long a start keeps trying while Kafka answers with errors that can pass. */
const START_RETRY_MS = 120_000;

/** A kafkajs error that a later attempt can get past (a leader not elected yet, a broker restarting). */
function isRetriableKafkaError(error: unknown): boolean {
  for (let e = error as { name?: string; retriable?: boolean; cause?: unknown } | undefined; e; e = e.cause as never) {
    if (e.name === "KafkaJSNumberOfRetriesExceeded" || (e.name?.startsWith("KafkaJS") && e.retriable)) return true;
  }
  return false;
}

/** Entry point: `node dist/src/main.js [all|api|worker|moderation]`. */
async function main() {
  const role = roleOrExit(process.argv[2] ?? "all");
  const config = configOrExit();
  const logger = createLogger(config.LOG_LEVEL, { role });
  if (config.usesPublishedSecret)
    logger.warn(
      { host: config.HOST },
      "JWT_SECRET is the development secret published in this repository: anyone can sign tokens with it, so this process listens on loopback only. Set JWT_SECRET (openssl rand -base64 48) for anything else.",
    );
  let app: App | undefined;
  const shutdown = shutdownOnce(logger, () => app?.stop());
  // A bug that escapes every handler leaves the process in an unknown state: log it as one
  // structured line and exit, so the supervisor starts a clean process.
  process.on("uncaughtException", (error) => {
    logger.fatal({ err: error }, "uncaught exception");
    void shutdown.run("uncaughtException", 1);
  });
  process.on("unhandledRejection", (error) => {
    logger.fatal({ err: error }, "unhandled promise rejection");
    void shutdown.run("unhandledRejection", 1);
  });
  // `on`, not `once`: a listener must stay registered or tsx's own handler exits the process at once.
  process.on("SIGINT", () => void shutdown.run("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown.run("SIGTERM", 0));
  const onFatal = (error: unknown) => {
    logger.fatal({ err: error }, "unrecoverable failure; exiting so a supervisor can restart the process");
    void shutdown.run("fatal", 1);
  };
  app = await startWithRetries({ config, role, logger, onFatal }, () => shutdown.started);
  if (app.url)
    logger.info(
      { url: app.url },
      `GraphQL API ready at ${app.url} (subscriptions: ${app.url.replace(/^http/, "ws")})` +
        (existsSync(webDistDir) ? `; the web client at ${app.origin}/` : ""),
    );
  else logger.info({ origin: app.origin }, `${role} ready; health and metrics at ${app.origin}/readyz and /metrics`);
}

function roleOrExit(name: string): Role {
  if (roles.includes(name as Role)) return name as Role;
  console.error(`unknown role '${name}': use one of ${roles.join(", ")}`);
  process.exit(2);
}

function configOrExit() {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}

/** Stops the app once, whatever asks first, and exits with the first reason's code. */
function shutdownOnce(logger: Logger, stopApp: () => Promise<void> | undefined) {
  let stopping: Promise<void> | null = null;
  return {
    get started() {
      return stopping !== null;
    },
    run(reason: string, code: number) {
      stopping ??= (async () => {
        logger.info({ reason }, "shutting down");
        // Not unref'd: it also keeps the event loop alive until every part has stopped, so the
        // last steps of a shutdown are not cut short when the sockets they wait on are gone.
        const force = setTimeout(() => {
          logger.error("shutdown took longer than 15 s; exiting");
          process.exit(1);
        }, 15_000);
        await stopApp();
        clearTimeout(force);
        logger.info("stopped");
        process.exit(code);
      })();
      return stopping;
    },
  };
}

/**
 * A cluster that is starting, electing leaders or creating our topics answers with retriable
 * errors for a while: a supervisor would only restart us into the same, so we try again.
 */
async function startWithRetries(options: AppOptions, stopping: () => boolean): Promise<App> {
  const { startApp } = await import("./app.js");
  const deadline = Date.now() + START_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startApp(options);
    } catch (error) {
      if (!isRetriableKafkaError(error) || Date.now() > deadline || stopping()) {
        options.logger.fatal({ err: error }, "could not start");
        process.exit(1);
      }
      options.logger.warn({ err: error, attempt }, "Kafka is not ready for this process yet; starting again in 1 s");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

void main();
