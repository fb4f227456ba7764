import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import cors from "cors";
import express from "express";
import type { GraphQLFormattedError, GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { AppError } from "../errors.js";
import { createContext, type GraphQLContext } from "../graphql/context.js";
import type { Services } from "../graphql/services.js";
import type { Logger } from "../logger.js";

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface ApiServerOptions {
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  host: string;
  port: number;
  production: boolean;
  /** What /readyz checks (Kafka, database). */
  readiness: ReadinessCheck[];
}

export interface ApiServer {
  /** e.g. http://localhost:4000/graphql */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Errors thrown on purpose keep their code; anything else is a bug and is masked in production. */
function formatErrorFor(production: boolean, logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // Parse and validation errors have no originalError; a resolver's throw does.
    const original = (error as { originalError?: unknown } | null)?.originalError;
    if (!original || original instanceof AppError || (original as Error).name === "GraphQLError") return formatted;
    logger.error({ err: original, path: formatted.path }, "unexpected error in resolver");
    if (!production) return formatted;
    return { message: "Internal server error", path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
  };
}

/** HTTP (queries, mutations, health) and graphql-ws subscriptions on one port and path. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { logger, schema, services } = options;
  const app = express();
  const httpServer: Server = createServer(app);
  const formatError = formatErrorFor(options.production, logger);

  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql" });
  const wsCleanup = useServer<{ authorization?: unknown }>(
    {
      schema,
      // Runs once per subscription; resolvers refresh loaders per event.
      context: (ctx) => createContext(services, ctx.connectionParams?.authorization),
      onError: (_ctx, _id, _payload, errors) => {
        logger.debug({ errors }, "subscription error");
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!("errors" in result) || !result.errors) return;
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: !options.production,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: async () => wsCleanup.dispose() }) },
    ],
  });
  await apollo.start();

  app.get("/healthz", (_req, res) => void res.json({ status: "ok" }));
  app.get("/readyz", async (_req, res) => {
    const results = await Promise.all(
      options.readiness.map(async ({ name, check }) => {
        try {
          await check();
          return { name, ok: true };
        } catch (error) {
          return { name, ok: false, error: (error as Error).message };
        }
      }),
    );
    const ready = results.every((r) => r.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not ready", checks: results });
  });
  app.use(
    "/graphql",
    cors(),
    express.json({ limit: "1mb" }),
    expressMiddleware(apollo, {
      context: ({ req }) => createContext(services, req.headers.authorization),
    }),
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(options.port, options.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const displayHost = options.host === "0.0.0.0" || options.host === "::" ? "localhost" : options.host;
  return {
    url: `http://${displayHost}:${port}/graphql`,
    port,
    async stop() {
      // Apollo's drain plugin closes idle HTTP connections and disposes the graphql-ws server.
      await apollo.stop();
      for (const client of wsServer.clients) client.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
