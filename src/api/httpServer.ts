import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import cors from "cors";
import express from "express";
import proxyAddr from "proxy-addr";
import { InMemoryLRUCache } from "@apollo/utils.keyvaluecache";
import type { Context, ServerOptions, SubscribePayload } from "graphql-ws";
import { GraphQLError, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { WebSocketServer, type WebSocket } from "ws";
import { databaseFailure } from "../db/errors.js";
import { webDistDir } from "../shared/paths.js";
import { SpanKind, tracing } from "../shared/tracing.js";
import { AppError, asGraphQLError } from "../shared/errors.js";
import { createContext, credentialsOf, usageKeyOf, type GraphQLContext } from "../graphql/context.js";
import type { ConnectionListener } from "../features/module.js";
import type { Services } from "../features/module.js";
import {
  beforeGraphQL,
  BODY_LIMIT_BYTES,
  errorBody,
  graphqlPostHandler,
  type BeforeGraphQLError,
} from "./graphqlPost.js";
import { BYTES_PER_POINT, type UsageBudget } from "./usageBudget.js";
import { budgetsPlugin } from "./budgetsPlugin.js";
import { createOperationLimits, type OperationLimits, type OperationLimitsConfig } from "./operationLimits.js";
import { createOperationPreparer } from "./prepareOperation.js";
import type { DocumentRequest, TrustedDocuments } from "./trustedDocuments.js";
import { serveGraphQLWs, type WsExtra } from "./graphqlWs.js";
import { nestsDeeperThan } from "./jsonDepth.js";
import { createSharedSubscribe } from "./sharedExecution.js";
import { SocketSessions } from "./socketSessions.js";
import type { Logger } from "../shared/logger.js";
import { countRefusals, type Metrics } from "../shared/metrics.js";

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** The GraphQL part: present in the `api` and `all` roles. */
export interface GraphQLEndpointOptions {
  schema: GraphQLSchema;
  services: Services;
  production: boolean;
  /** Express's `trust proxy`, for the client address behind proxies. */
  trustProxy?: string | number;
  limits: OperationLimitsConfig;
  /** What operations may cost: bytes per response and per event, queries at once, and the shared usage budget. */
  budgets: { maxResponseBytes: number; maxEventBytes: number; maxConcurrentQueries: number; usage: UsageBudget };
  connectionLimits: {
    maxSubscriptionsPerSocket: number;
    maxSocketsPerUser: number;
    unauthenticatedTimeoutMs: number;
    /** How often silent sockets are pinged, and dead ones dropped. */
    keepAliveMs: number;
    /** Sockets from one address that have not signed in yet. */
    maxUnauthenticatedPerAddress: number;
  };
  /** Told when a user's authenticated WebSocket opens and closes (presence). */
  connectionListeners: ConnectionListener[];
  /** The web client's documents by hash, and whether only they are served. */
  trustedDocuments: TrustedDocuments;
}

export interface HttpServerOptions {
  logger: Logger;
  host: string;
  port: number;
  metrics: Metrics;
  /** What /readyz checks (Kafka, database). */
  readiness: ReadinessCheck[];
  /** A separate port for /readyz and /metrics; without one they answer loopback clients only. */
  opsPort?: number;
  opsHost?: string;
  graphql?: GraphQLEndpointOptions;
}

export interface HttpServer {
  /** e.g. http://localhost:4000 */
  origin: string;
  port: number;
  /** Open WebSocket connections (0 without the GraphQL endpoint). */
  readonly connections: number;
  stop(): Promise<void>;
}

/** Close code for a subscriber that fell too far behind: graphql-ws clients retry on it. */
export const SLOW_CONSUMER_CLOSE_CODE = 1013; // "Try Again Later"

/**
 * Errors thrown on purpose keep their code; a database that is away is SERVICE_UNAVAILABLE
 * (retry); anything else is a bug, logged, and masked in production.
 */
function formatErrorFor(production: boolean, logger: Logger, metrics: Metrics) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    countRefusals(metrics, [formatted]);
    // Parse and validation errors have no originalError; a resolver's throw does.
    const original = (error as { originalError?: unknown } | null)?.originalError;
    if (!original || original instanceof AppError || (original as Error).name === "GraphQLError") return formatted;
    if (databaseFailure(original).kind === "unavailable") {
      logger.warn({ err: original, path: formatted.path }, "database unavailable");
      return {
        message: "the database is unavailable; retry shortly",
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: "SERVICE_UNAVAILABLE" },
      };
    }
    logger.error({ err: original, path: formatted.path }, "unexpected error in resolver");
    if (!production) return formatted;
    return { message: "Internal server error", path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
  };
}

/**
 * Errors before GraphQL (a body that is not JSON, or too large) answered as GraphQL clients
 * read errors, instead of Express's HTML page (with a stack trace outside production).
 */
function jsonErrors(logger: Logger): express.ErrorRequestHandler {
  return (error: { type?: string; status?: number }, _req, res, _next) => {
    const known: Record<string, BeforeGraphQLError> = {
      "entity.parse.failed": beforeGraphQL.badJson,
      "entity.too.large": beforeGraphQL.tooLarge,
      "entity.verify.failed": beforeGraphQL.tooDeep,
    };
    const answer = known[error.type ?? ""] ?? beforeGraphQL.internal;
    if (answer === beforeGraphQL.internal) logger.error({ err: error }, "unexpected error before GraphQL");
    res.status(answer.status).json(errorBody(answer));
  };
}

/**
 * One port per process: /healthz, /readyz and /metrics in every role, plus POST /graphql
 * and graphql-ws subscriptions on the same path where the process serves the API.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { logger, metrics } = options;
  const app = express();
  app.disable("x-powered-by");
  // An ETag would hash every GraphQL response for conditional GETs that POSTs never make.
  app.disable("etag");
  // POST /graphql with a JSON body skips Express (graphqlPost.ts); the rest goes through it.
  let graphqlPost: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const httpServer: Server = createServer((req, res) => {
    if (!graphqlPost?.(req, res)) app(req, res);
  });
  const stops: Array<() => Promise<void>> = [];
  let connections = () => 0;

  app.get("/healthz", (_req, res) => void res.json({ status: "ok" }));
  // The reference web client (web/) once built (`npm run build:web`); Apollo Sandbox stays at /graphql.
  if (options.graphql) app.use(express.static(webDistDir, { index: "index.html" }));
  // Readiness and metrics tell an outsider what runs inside: on a port of their own when
  // OPS_PORT is set, else on this port to loopback clients only.
  const ops = opsRoutes(options.readiness, metrics);
  if (options.opsPort === undefined) app.use(["/readyz", "/metrics"], onlyFromLoopback).use(ops);
  else {
    const opsApp = express().disable("x-powered-by");
    opsApp.get("/healthz", (_req, res) => void res.json({ status: "ok" }));
    opsApp.use(ops);
    const opsServer = await listen(createServer(opsApp), options.opsPort, options.opsHost ?? options.host);
    stops.push(() => close(opsServer));
  }

  if (options.graphql) {
    const endpoint = await mountGraphQL(app, httpServer, options.graphql, logger, metrics);
    graphqlPost = endpoint.graphqlPost;
    stops.push(endpoint.stop);
    connections = endpoint.connections;
  }

  await listen(httpServer, options.port, options.host);
  const port = (httpServer.address() as AddressInfo).port;
  const displayHost = options.host === "0.0.0.0" || options.host === "::" ? "localhost" : options.host;
  return {
    origin: `http://${displayHost}:${port}`,
    port,
    get connections() {
      return connections();
    },
    async stop() {
      for (const stop of stops) await stop();
      await close(httpServer);
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

const onlyFromLoopback: express.RequestHandler = (req, res, next) => {
  if (LOOPBACK.has(req.socket.remoteAddress ?? "")) return next();
  res.status(404).json({ errors: [{ message: "not found", extensions: { code: "NOT_FOUND" } }] });
};

/** /readyz (each dependency's state) and /metrics (Prometheus). */
function opsRoutes(readiness: ReadinessCheck[], metrics: Metrics): express.Router {
  const router = express.Router();
  router.get("/readyz", async (_req, res) => {
    const results = await Promise.all(
      readiness.map(async ({ name, check }) => {
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
  router.get("/metrics", async (_req, res) => {
    res.setHeader("content-type", metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return router;
}

/** What the GraphQL transports share, built once per endpoint. */
interface Endpoint {
  options: GraphQLEndpointOptions;
  limits: OperationLimits;
  formatError: ReturnType<typeof formatErrorFor>;
  sessions: SocketSessions;
  onLimit(limit: string): void;
  logger: Logger;
  metrics: Metrics;
}

async function mountGraphQL(
  app: express.Express,
  httpServer: Server,
  options: GraphQLEndpointOptions,
  logger: Logger,
  metrics: Metrics,
) {
  if (options.trustProxy !== undefined) app.set("trust proxy", options.trustProxy);
  const onLimit = (limit: string) => metrics.connectionLimitsHit.inc({ limit });
  const endpoint: Endpoint = {
    options,
    limits: createOperationLimits(options.schema, options.limits),
    formatError: formatErrorFor(options.production, logger, metrics),
    sessions: new SocketSessions(
      options.services.users,
      { ...options.connectionLimits, onLimit },
      options.connectionListeners,
    ),
    onLimit,
    logger,
    metrics,
  };
  // 1 MB is far above any valid operation (a message body is at most 4000 characters).
  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: 1_000_000 });
  const wsCleanup = serveGraphQLWs(graphqlWsOptions(endpoint), wsServer, logger, {
    maxUnauthenticatedPerAddress: options.connectionLimits.maxUnauthenticatedPerAddress,
    clientAddress: (request) => proxyAddr(request, app.get("trust proxy fn")),
    onLimit,
    keepAliveMs: options.connectionLimits.keepAliveMs,
  });
  const apollo = await startApollo(endpoint, httpServer);
  const httpContext = mountGraphQLHttp(app, apollo, endpoint);
  return {
    graphqlPost: graphqlPostHandler({
      apollo,
      context: httpContext,
      trustProxy: app.get("trust proxy fn"),
      trustedDocuments: options.trustedDocuments,
      logger,
      metrics,
    }),
    connections: () => wsServer.clients.size,
    async stop() {
      // Close WebSockets first (1001 Going Away: clients reconnect elsewhere), then drain HTTP.
      endpoint.sessions.stop();
      await wsCleanup.dispose();
      for (const client of wsServer.clients) client.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      await apollo.stop();
    },
  };
}

/** graphql-ws's hooks: sign-in per socket, limits and budgets per subscription, shared execution. */
function graphqlWsOptions({
  options,
  limits,
  formatError,
  sessions,
  onLimit,
  metrics,
}: Endpoint): ServerOptions<Record<string, unknown>, WsExtra> {
  const { schema, services, budgets } = options;
  const prepareOperation = createOperationPreparer(schema, limits, { production: options.production });
  return {
    schema,
    onConnect: async (ctx) => {
      const credentials = await credentialsOf(services, ctx.connectionParams?.authorization);
      // Kept as credentials, not as the token: the parameters are not needed again.
      delete (ctx as { connectionParams?: unknown }).connectionParams;
      ctx.extra.credentials = credentials;
      const userId = await sessions.open(ctx.extra.socket, credentials);
      if (userId) ctx.extra.signedIn(userId);
    },
    onSubscribe: (ctx, _id, payload) =>
      tracing.span(subscribeSpan(payload), async () => {
        const admitted = await admitSubscription(ctx, payload, prepareOperation, { options, onLimit });
        if (Array.isArray(admitted)) countRefusals(metrics, admitted);
        return admitted;
      }),
    subscribe: createSharedSubscribe(schema, {
      maxEventBytes: budgets.maxEventBytes,
      charge(context, bytes) {
        budgets.usage.spend(context.usageKey, "points", bytes / BYTES_PER_POINT);
        const refused = budgets.usage.refusal(context.usageKey);
        if (refused) throw refused;
      },
    }),
    // Runs once per subscription; resolvers refresh loaders per event.
    context: (ctx) =>
      createContext(services, ctx.extra.credentials, {
        clientAddress: ctx.extra.remoteAddress,
        onSlowConsumer: () => closeSlowConsumer(ctx.extra.socket, metrics),
      }),
    onNext: (_ctx, _id, _payload, _args, result) => {
      if (!("errors" in result) || !result.errors) return;
      return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
    },
  };
}

/**
 * A subscription within the socket's limit, valid, and within the user's budget: its
 * execution arguments, or the errors that refuse it.
 */
async function admitSubscription(
  ctx: Context<Record<string, unknown>, WsExtra>,
  payload: SubscribePayload,
  prepareOperation: ReturnType<typeof createOperationPreparer>,
  { options, onLimit }: Pick<Endpoint, "options" | "onLimit">,
) {
  const { maxSubscriptionsPerSocket: limit } = options.connectionLimits;
  // graphql-ws has already entered this subscription in ctx.subscriptions.
  if (Object.keys(ctx.subscriptions).length > limit) {
    onLimit("subscriptions_per_socket");
    return [
      new GraphQLError(`too many subscriptions on this connection (limit ${limit}); complete some first`, {
        extensions: { code: "TOO_MANY_SUBSCRIPTIONS", limit },
      }),
    ];
  }
  const trusted = options.trustedDocuments.resolve(payload);
  if (trusted instanceof AppError) return [asGraphQLError(trusted)];
  const prepared = prepareOperation(trusted);
  if (Array.isArray(prepared)) return prepared;
  try {
    const key = usageKeyOf(ctx.extra.userId, ctx.extra.remoteAddress);
    await options.budgets.usage.spendOrRefuse(key, "points", prepared.cost);
  } catch (error) {
    if (error instanceof AppError) return [asGraphQLError(error)];
    throw error;
  }
  return prepared.args;
}

function closeSlowConsumer(socket: WebSocket, metrics: Metrics) {
  metrics.slowSubscribersClosed.inc();
  socket.close(SLOW_CONSUMER_CLOSE_CODE, "subscription fell too far behind; resubscribe with afterSeq");
  // A client that is not reading will not answer the close handshake either.
  setTimeout(() => socket.terminate(), 1000).unref();
}

async function startApollo({ options, limits, formatError }: Endpoint, httpServer: Server) {
  const apollo = new ApolloServer<GraphQLContext>({
    schema: options.schema,
    formatError,
    includeStacktraceInErrorResponses: !options.production,
    hideSchemaDetailsFromClientErrors: options.production,
    parseOptions: limits.parseOptions,
    // Hashes are resolved from the trusted documents before Apollo (its own cache would let any
    // client register any document).
    persistedQueries: false,
    // main.ts owns shutdown; Apollo's own signal handlers would race it and re-raise the signal.
    stopOnTerminationSignals: false,
    // Bounded by the text it holds (Apollo's default holds 30 MiB of parsed documents).
    documentStore: new InMemoryLRUCache<DocumentNode>({ maxSize: 4 * 1024 * 1024 }),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      budgetsPlugin(limits, options.budgets.usage, options.budgets.maxConcurrentQueries),
      ...(tracing.on ? [tracingPlugin] : []),
      // Its per-field hook wraps every resolver of every request to compute HTTP cache hints,
      // which authenticated POSTs of a chat API never use.
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();
  return apollo;
}

/** A subscribe message's span, named for its operation when the client names it. */
const subscribeSpan = (payload: SubscribePayload) => () => ({
  name: `subscribe ${payload.operationName ?? ""}`.trim(),
  kind: SpanKind.SERVER,
});

/** Names the request's span for its operation, as OpenTelemetry's GraphQL conventions do. */
const tracingPlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, operationName }) {
        const type = operation?.operation ?? "query";
        const span = tracing.active();
        span?.updateName(operationName ? `${type} ${operationName}` : type);
        span?.setAttributes({
          "graphql.operation.type": type,
          ...(operationName ? { "graphql.operation.name": operationName } : {}),
        });
      },
    };
  },
};

/**
 * Trusted documents on the Express route (graphqlPost.ts does the same on the fast path): a
 * POST's body, or a GET's query string (Sandbox, or Apollo Client's hashed GETs), gets the
 * trusted text in place of its hash.
 */
function trustedDocumentsOnExpress(trusted: TrustedDocuments, metrics: Metrics): express.RequestHandler {
  return (req, res, next) => {
    const get = req.method === "GET";
    const request = get ? getRequest(req.query) : req.body;
    const resolved = trusted.resolveBody(request);
    if (resolved instanceof AppError) {
      countRefusals(metrics, [resolved]);
      return void res.status(400).json(errorBody(resolved));
    }
    if (!get) req.body = resolved;
    else if (resolved !== request) req.url = withGetDocument(req.url, resolved as DocumentRequest);
    next();
  };
}

/** A GET's document fields; `extensions` is JSON in the query string. */
function getRequest(query: express.Request["query"]): DocumentRequest {
  let extensions: unknown = query.extensions;
  try {
    if (typeof extensions === "string") extensions = JSON.parse(extensions);
  } catch {
    // not JSON: no hash in it; Apollo answers for the rest
  }
  return { query: query.query, documentId: query.documentId, extensions };
}

/** The GET's URL with the trusted text as `query` and without the hash it was named by. */
function withGetDocument(url: string, { query, extensions }: DocumentRequest): string {
  const parsed = new URL(url, "http://localhost");
  parsed.searchParams.set("query", String(query));
  parsed.searchParams.delete("documentId");
  const rest = extensions && typeof extensions === "object" && Object.keys(extensions).length > 0;
  if (rest) parsed.searchParams.set("extensions", JSON.stringify(extensions));
  else parsed.searchParams.delete("extensions");
  return `${parsed.pathname}${parsed.search}`;
}

/** POST /graphql through Express; returns how a request's context is built (graphqlPost.ts builds it the same way). */
function mountGraphQLHttp(
  app: express.Express,
  apollo: ApolloServer<GraphQLContext>,
  { options, logger, metrics }: Endpoint,
) {
  const { services, budgets } = options;
  const httpContext = async (req: IncomingMessage, clientAddress: string | undefined) =>
    createContext(services, await credentialsOf(services, req.headers.authorization), {
      clientAddress,
      maxResponseBytes: budgets.maxResponseBytes,
    });
  app.use(
    "/graphql",
    cors(),
    express.json({
      limit: BODY_LIMIT_BYTES,
      verify: (_req, _res, body) => {
        if (nestsDeeperThan(body.toString("utf8"))) throw new Error(beforeGraphQL.tooDeep.message);
      },
    }),
    trustedDocumentsOnExpress(options.trustedDocuments, metrics),
    expressMiddleware(apollo, { context: ({ req }) => httpContext(req, req.ip ?? req.socket.remoteAddress) }),
  );
  app.use(jsonErrors(logger));
  return httpContext;
}
