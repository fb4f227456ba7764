import { existsSync } from "node:fs";
import { roles, startApp, type Role } from "./app.js";
import { ConfigError, loadConfig } from "./config/env.js";
import { createLogger } from "./logger.js";
import { webDistDir } from "./paths.js";

/** Entry point: `node dist/src/main.js [all|api|worker]`. */
async function main() {
  const role = (process.argv[2] ?? "all") as Role;
  if (!roles.includes(role)) {
    console.error(`unknown role '${role}': use one of ${roles.join(", ")}`);
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL, { role });
  if (config.usesPublishedSecret)
    logger.warn(
      { host: config.HOST },
      "JWT_SECRET is the development secret published in this repository: anyone can sign tokens with it, so this process listens on loopback only. Set JWT_SECRET (openssl rand -base64 48) for anything else.",
    );

  let stopping: Promise<void> | null = null;
  const shutdown = (reason: string, code: number) => {
    stopping ??= (async () => {
      logger.info({ reason }, "shutting down");
      // Not unref'd: it also keeps the event loop alive until every part has stopped, so the
      // last steps of a shutdown are not cut short when the sockets they wait on are gone.
      const force = setTimeout(() => {
        logger.error("shutdown took longer than 15 s; exiting");
        process.exit(1);
      }, 15_000);
      await app?.stop();
      clearTimeout(force);
      logger.info("stopped");
      process.exit(code);
    })();
    return stopping;
  };

  let app: Awaited<ReturnType<typeof startApp>> | undefined;
  // A bug that escapes every handler leaves the process in an unknown state: log it as one
  // structured line and exit, so the supervisor starts a clean process.
  process.on("uncaughtException", (error) => {
    logger.fatal({ err: error }, "uncaught exception");
    void shutdown("uncaughtException", 1);
  });
  process.on("unhandledRejection", (error) => {
    logger.fatal({ err: error }, "unhandled promise rejection");
    void shutdown("unhandledRejection", 1);
  });
  // `on`, not `once`: a listener must stay registered or tsx's own handler exits the process at once.
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  try {
    app = await startApp({
      config,
      role,
      logger,
      onFatal: (error) => {
        logger.fatal({ err: error }, "unrecoverable failure; exiting so a supervisor can restart the process");
        void shutdown("fatal", 1);
      },
    });
  } catch (error) {
    logger.fatal({ err: error }, "could not start");
    process.exit(1);
  }
  if (app.url)
    logger.info(
      { url: app.url },
      `GraphQL API ready at ${app.url} (subscriptions: ${app.url.replace(/^http/, "ws")})` +
        (existsSync(webDistDir) ? `; the web client at ${app.origin}/` : ""),
    );
  else logger.info({ origin: app.origin }, `worker ready; health and metrics at ${app.origin}/readyz and /metrics`);
}

void main();
