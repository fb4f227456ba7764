import { accessSync, constants } from "node:fs";
import { z } from "zod";

const DEV_JWT_SECRET = "dev-only-secret-change-me-dev-only-secret";

/** Secrets written in this repository: anyone can sign tokens with them, so production refuses them. */
const PUBLISHED_SECRETS = new Set([DEV_JWT_SECRET, "compose-development-secret-change-me-please"]);

/** The longest a token may live: a stolen token must stop working by itself. */
const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
const TTL_UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Comma-separated `host:port` list, e.g. `127.0.0.1:9092,127.0.0.1:9094`. */
const brokerList = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, "each broker must look like host:port")).min(1));

const envSchema = z.object({
  /** `production` masks unexpected errors and requires a strong `JWT_SECRET`. @default development */
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** HTTP and WebSocket port. @default 4000 */
  PORT: z.coerce.number({ error: "must be a port number" }).int().min(0).max(65535).default(4000),
  /** Interface to listen on. @default 0.0.0.0, or 127.0.0.1 while JWT_SECRET is the published development one */
  HOST: z.string().min(1).default("0.0.0.0"),
  /** A port of its own for /readyz and /metrics (and /healthz). Unset: they answer on PORT to loopback clients only. */
  OPS_PORT: z.coerce.number({ error: "must be a port number" }).int().min(0).max(65535).optional(),
  /** Interface for OPS_PORT. @default HOST */
  OPS_HOST: z.string().min(1).optional(),
  /** PostgreSQL connection string. Without it, role `all` runs on embedded PGlite. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
    .optional(),
  /** Where embedded PGlite keeps its files; `memory://` keeps nothing. @default .data/pglite */
  PGLITE_DIR: z.string().min(1).default(".data/pglite"),
  /** Database connections per process. @default 10 */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /**
   * How long a statement waits for a row lock before it fails (PostgreSQL's lock_timeout). A
   * worker's chunk that waits longer (two chunks of racing commands, such as a save and a
   * leave, holding what the other needs) is undone and tried again after a short random wait,
   * instead of holding up the other commands of its transaction until the deadlock detector's 1 s.
   * @default 100
   */
  DATABASE_LOCK_TIMEOUT_MS: z.coerce.number().int().min(10).max(600_000).default(100),
  /** Comma-separated `host:port` list of seed brokers; give several for a cluster. @default 127.0.0.1:9092 */
  KAFKA_BROKERS: brokerList.default(["127.0.0.1:9092"]),
  /**
   * SASL mechanism for every Kafka connection of this process: `scram-sha-256`, `scram-sha-512`
   * or `plain` (production refuses `plain` without TLS). Unset: no authentication.
   */
  KAFKA_SASL_MECHANISM: z.enum(["scram-sha-256", "scram-sha-512", "plain"]).optional(),
  /** This process's Kafka principal; give the api and the worker principals of their own (see docs/security.md). */
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  /** The password of KAFKA_SASL_USERNAME. */
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** Speak TLS to the brokers. @default false, or true when KAFKA_SSL_CA_FILE is set */
  KAFKA_SSL: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional(),
  /** PEM file of the certificate authority that signed the brokers' certificates (else the system's). Implies KAFKA_SSL. */
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  /** The kafkajs client id (in broker logs and quotas). @default chat */
  KAFKA_CLIENT_ID: z.string().min(1).default("chat"),
  /** Prepended to every topic and group name, so that several deployments or test runs share a cluster. @default empty */
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, "may contain only letters, digits, '.', '_' and '-'")
    .default(""),
  /** Partitions for each topic created at start. @default 6 */
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  /** Replicas of each topic created at start. @default the brokers' default.replication.factor */
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(10).optional(),
  /**
   * min.insync.replicas of each topic created at start: replicas that must hold a record before
   * it is acknowledged. @default 2 when topics have 3 or more replicas, else 1
   */
  KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(10).optional(),
  /** Consumer group shared by all workers. @default chat-workers */
  KAFKA_WORKER_GROUP: z.string().min(1).default("chat-workers"),
  /** How soon a dead worker's partitions move to the others (the broker allows 6000-300000). @default 10000 */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(10_000),
  /** Commands a worker applies per database transaction; 1 means one per command. @default 500 */
  WORKER_TRANSACTION_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  /**
   * Partitions a worker takes batches from at the same time; batches ready together share a
   * transaction, so fewer than the partitions a worker owns costs transactions and requests.
   * @default KAFKA_TOPIC_PARTITIONS
   */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).optional(),
  /**
   * While commands flow, how long the broker may hold a worker's fetch to gather a larger
   * batch (it answers at once when 64 KiB are waiting). Larger batches cost fewer transactions
   * and Kafka requests per command; the price is up to this much latency. After a fetch that
   * found nothing, the next one waits for the first command instead (up to 500 ms), so an
   * idle worker does not poll and the first command after a pause is taken up at once. @default 5
   */
  WORKER_FETCH_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(5),
  /** How long workers keep decided commands for redelivery (must exceed the commands topic's retention). @default 192 */
  COMMAND_LOG_RETENTION_HOURS: z.coerce.number().int().min(1).max(100_000).default(192),
  /** Workers also run the event-log consumer (appends every event but MessageAdded, whose copy is the message row, to event_log). @default true */
  EVENT_LOG_ENABLED: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
  /**
   * How long the API lets a command wait for others to share one produce request (Kafka's
   * linger.ms). Fewer requests cost the broker and the workers less per message. @default 3
   */
  COMMAND_LINGER_MS: z.coerce.number().int().min(0).max(100).default(3),
  /**
   * How long a mutation waits for its command's outcome. Longer than a partition leader's
   * election after a broker dies (the controller waits broker.session.timeout.ms, 9 s by
   * default, then clients refresh their metadata), so a send caught in one still succeeds.
   * @default 20000
   */
  COMMAND_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
  /**
   * How long a feed cursor (`myEvents(after:)`) stays good: older ones get CURSOR_EXPIRED and
   * the client re-reads. At most COMMAND_LOG_RETENTION_HOURS, where the changes are read from.
   * @default 168
   */
  FEED_RETENTION_HOURS: z.coerce.number().int().min(1).max(100_000).default(168),
  /**
   * The most changes a resumed feed replays; a client further behind gets CURSOR_EXPIRED and
   * re-reads (cheaper for both sides than a long replay). @default 5000
   */
  FEED_REPLAY_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(5000),
  /** Members who must report a message before the moderation consumer hides it pending review. @default 3 */
  MODERATION_REPORTS_TO_HIDE: z.coerce.number().int().min(1).max(1000).default(3),
  /** A sender who sends the same text to this many rooms within MODERATION_FLOOD_WINDOW_SECONDS is muted. @default 5 */
  MODERATION_FLOOD_ROOMS: z.coerce.number().int().min(2).max(1000).default(5),
  /** The window the moderation consumer looks for floods in. @default 60 */
  MODERATION_FLOOD_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** How long a flooding sender stays muted (their sends refused with MUTED). @default 10 */
  MODERATION_MUTE_MINUTES: z.coerce.number().int().min(1).max(100_000).default(10),
  /** Events buffered per subscription before a slow client is disconnected. @default 1000 */
  SUBSCRIPTION_QUEUE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /**
   * An API process that has served nobody this long (no WebSocket open, no request) pauses its
   * event consumer, so the traffic of other processes' clients costs it nothing; the next
   * client resumes it at the end of the topic (a few milliseconds, once). 0: never pause.
   * @default 10000
   */
  API_IDLE_PAUSE_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** How often each API process reports its connected users (presence). @default 10000 */
  PRESENCE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** An API process not heard from for this long is gone: its users go offline. @default 30000 */
  PRESENCE_TIMEOUT_MS: z.coerce.number().int().min(300).max(3_600_000).default(30_000),
  /**
   * `only`: serve only the documents the web client was built with (sent by hash as
   * `extensions.persistedQuery.sha256Hash` or `documentId`, or as their exact text) and refuse
   * any other before parsing it, code TRUSTED_DOCUMENT_REQUIRED. `any`: also serve any other
   * document (Sandbox, your own clients). @default any
   */
  TRUSTED_DOCUMENTS: z.enum(["any", "only"]).default("any"),
  /** The trusted documents: `sha256:<hex>` to text, as codegen's client preset writes them. @default web/src/gql/persisted-documents.json */
  TRUSTED_DOCUMENTS_FILE: z.string().min(1).optional(),
  /** Deepest selection an operation may have. @default 8 */
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(1).max(100).default(8),
  /** Aliases an operation may use. @default 15 */
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(15),
  /** Directives an operation may use. @default 50 */
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1000).default(50),
  /** Tokens the parser reads before it gives up on an operation. @default 2000 */
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(100_000).default(2000),
  /**
   * An operation's cost: each field 1, a list its size (`first`, `last` or their defaults; 20
   * when it has none) times one item's cost. A client's room list with last messages and
   * members costs about 7,500; three nested pages of 100 messages cost a million. @default 20000
   */
  GRAPHQL_MAX_COST: z.coerce.number().int().min(100).max(10_000_000).default(20_000),
  /** Longest alias, field, fragment, variable or operation name an operation may use. @default 100 */
  GRAPHQL_MAX_NAME_LENGTH: z.coerce.number().int().min(10).max(100_000).default(100),
  /** Bytes one HTTP response may grow to while it is built (RESPONSE_TOO_LARGE past it). @default 4194304 (4 MiB) */
  GRAPHQL_MAX_RESPONSE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** Bytes one subscription event's result may grow to while it is built. @default 262144 (256 KiB) */
  GRAPHQL_MAX_EVENT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  /** Queries one user (or signed-out address) may run at once on one API process. @default 8 */
  GRAPHQL_MAX_CONCURRENT_QUERIES: z.coerce.number().int().min(1).default(8),
  /**
   * Points a user (or signed-out address) may spend in a minute, across API processes: each
   * operation its estimated cost, then 1 per 100 bytes it produced (each subscription event
   * delivered too). A room list of 100 rooms costs about 15,000. @default 300000
   */
  BUDGET_POINTS_PER_MINUTE: z.coerce.number().int().min(100).default(300_000),
  /** Milliseconds of query execution a user (or signed-out address) may use in a minute, across API processes. @default 20000 */
  BUDGET_QUERY_MS_PER_MINUTE: z.coerce.number().int().min(100).default(20_000),
  /** Searches one user may run at once; each API process runs at most a quarter of its pool's connections in searches. @default 2 */
  SEARCH_MAX_CONCURRENT_PER_USER: z.coerce.number().int().min(1).default(2),
  /** Subscriptions one WebSocket may hold open. @default 100 */
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).max(100_000).default(100),
  /** WebSockets one user may hold open on one API process. @default 20 */
  WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(20),
  /** WebSockets from one client address that have not signed in (yet), per API process. @default 10 */
  WS_MAX_UNAUTHENTICATED_PER_ADDRESS: z.coerce.number().int().min(1).default(10),
  /**
   * How often the API looks for dead WebSockets: one that sent nothing for this long is pinged,
   * and dropped if it has not answered by the next look (a dead connection goes within three). @default 12000
   */
  WS_KEEPALIVE_MS: z.coerce.number().int().min(100).max(600_000).default(12_000),
  /** How long a WebSocket without a valid token stays open (time to read why its subscriptions were refused). @default 10000 */
  WS_UNAUTHENTICATED_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /**
   * Sign-in attempts for one username from one client address in 15 minutes, across API
   * processes. Per pair, so that a stranger's guesses never lock the owner out. @default 10
   */
  RATE_LIMIT_LOGIN_PER_ADDRESS_AND_USERNAME: z.coerce.number().int().min(1).default(10),
  /** Sign-in attempts per client address in 15 minutes, across API processes. @default 100 */
  RATE_LIMIT_LOGIN_PER_ADDRESS: z.coerce.number().int().min(1).default(100),
  /** Sign-ups per client address in an hour, across API processes. @default 20 */
  RATE_LIMIT_SIGNUP_PER_ADDRESS: z.coerce.number().int().min(1).default(20),
  /** Messages per user in 10 seconds, per API process. @default 100 */
  RATE_LIMIT_MESSAGES_PER_USER: z.coerce.number().int().min(1).default(100),
  /** setTyping calls per user in 10 seconds, per API process (repeats are coalesced, not published). @default 200 */
  RATE_LIMIT_TYPING_PER_USER: z.coerce.number().int().min(1).default(200),
  /** Other mutations per user in a minute, per API process. @default 300 */
  RATE_LIMIT_MUTATIONS_PER_USER: z.coerce.number().int().min(1).default(300),
  /**
   * Which proxies in front of the API to trust for the client address (Express's `trust
   * proxy`: a hop count, `loopback`, or addresses). Unset: the socket's address.
   */
  TRUST_PROXY: z
    .string()
    .transform((v) => (/^\d+$/.test(v) ? Number(v) : v))
    .optional(),
  /**
   * HS256 key for session tokens; required (32+ characters, not a published one) in production.
   * @default a development secret published in this repository, accepted on a loopback HOST only
   */
  JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** Session token lifetime, as jose understands it (`7d`, `12h`), at most 30 days. @default 7d */
  TOKEN_TTL: z
    .string()
    .regex(/^\d+\s*(s|m|h|d|w)$/, "must look like 30m, 12h or 7d")
    .refine((ttl) => {
      const match = /^(\d+)\s*(\w)$/.exec(ttl);
      return !match || Number(match[1]) * TTL_UNIT_SECONDS[match[2]!]! <= MAX_TOKEN_TTL_SECONDS; // no match: the regex reports it
    }, "must be at most 30 days")
    .default("7d"),
  /**
   * Tracing's exporter, as OpenTelemetry names them: `otlp` (OTLP over HTTP), `zipkin` or `none`.
   * @default the one whose endpoint is set; none when neither is (tracing off)
   */
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "zipkin", "none"]).optional(),
  /** An OTLP/HTTP collector (Jaeger, Tempo, the OpenTelemetry Collector), e.g. http://127.0.0.1:4318; turns tracing on. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** The OTLP traces URL itself, when not OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  /** Zipkin's span endpoint, e.g. http://127.0.0.1:9411/api/v2/spans (`npm run zipkin:start`); turns tracing on. */
  OTEL_EXPORTER_ZIPKIN_ENDPOINT: z.url().optional(),
  /** The service name on this process's spans. @default chat-<role> */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** `true` turns tracing off whatever else is set. @default false */
  OTEL_SDK_DISABLED: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  /**
   * pino's level for the JSON log lines on stdout: `debug` adds where each command went (its
   * partition, the worker's chunk, its answer), `trace` also every request kafkajs makes. @default info
   */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Env = z.infer<typeof envSchema>;

/** Which parts a process runs: all in one process for development, or one role each. */
export type Role = "all" | "api" | "worker" | "moderation";
export const roles: readonly Role[] = ["all", "api", "worker", "moderation"];

export interface Config extends Omit<Env, "JWT_SECRET"> {
  JWT_SECRET: string;
  /** JWT_SECRET is the development one published in this repository (outside production only, on loopback only). */
  usesPublishedSecret: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Validates the environment once and reports every problem together. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // Treat empty strings as unset, as shells and compose files often produce them.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`);
  // Checked on the raw values so that it is reported together with every other problem.
  if (cleaned.NODE_ENV === "production" && !cleaned.JWT_SECRET)
    problems.push("JWT_SECRET: is required when NODE_ENV=production");
  if (cleaned.NODE_ENV === "production" && PUBLISHED_SECRETS.has(cleaned.JWT_SECRET ?? ""))
    problems.push("JWT_SECRET: is a default published with this project; generate one (openssl rand -base64 48)");
  else if (cleaned.NODE_ENV === "production" && cleaned.JWT_SECRET && secretBits(cleaned.JWT_SECRET) < MIN_SECRET_BITS)
    problems.push(
      `JWT_SECRET: has about ${Math.floor(secretBits(cleaned.JWT_SECRET))} bits of entropy, fewer than ${MIN_SECRET_BITS}; generate one (openssl rand -base64 48)`,
    );
  const published = !cleaned.JWT_SECRET || PUBLISHED_SECRETS.has(cleaned.JWT_SECRET);
  if (published && cleaned.HOST && !LOOPBACK_HOSTS.has(cleaned.HOST))
    problems.push(
      `HOST: ${cleaned.HOST} would let anyone on the network use tokens signed with the published development secret; set JWT_SECRET (openssl rand -base64 48) or listen on 127.0.0.1`,
    );
  problems.push(...kafkaSecurityProblems(cleaned));
  if (parsed.success && parsed.data.FEED_RETENTION_HOURS > parsed.data.COMMAND_LOG_RETENTION_HOURS)
    problems.push(
      `FEED_RETENTION_HOURS: ${parsed.data.FEED_RETENTION_HOURS} exceeds COMMAND_LOG_RETENTION_HOURS (${parsed.data.COMMAND_LOG_RETENTION_HOURS}), where a resumed feed reads its changes`,
    );
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return {
    ...parsed.data,
    // The published secret is only ever served on loopback (see above).
    HOST: published && !cleaned.HOST ? "127.0.0.1" : parsed.data.HOST,
    JWT_SECRET: parsed.data.JWT_SECRET ?? DEV_JWT_SECRET,
    usesPublishedSecret: published,
  };
}

/** Production secrets need this much entropy, as estimated by secretBits. */
const MIN_SECRET_BITS = 128;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * An estimate of a secret's entropy: its length times the Shannon entropy of its characters'
 * frequencies. Random base64 of 32 bytes scores about 220; 40 x "a" scores 0; a word repeated
 * scores what its few distinct letters allow.
 */
export function secretBits(secret: string): number {
  const counts = new Map<string, number>();
  const chars = [...secret];
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / chars.length) * Math.log2(n / chars.length);
  return perChar * chars.length;
}

/** Combinations of the Kafka security settings that cannot work, or that leak a password. */
function kafkaSecurityProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const mechanism = env.KAFKA_SASL_MECHANISM;
  for (const name of ["KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"] as const) {
    if (mechanism && !env[name]) problems.push(`${name}: is required with KAFKA_SASL_MECHANISM`);
    if (!mechanism && env[name]) problems.push(`${name}: is set but KAFKA_SASL_MECHANISM is not`);
  }
  const tls = env.KAFKA_SSL === "true" || (env.KAFKA_SSL !== "false" && Boolean(env.KAFKA_SSL_CA_FILE));
  if (env.KAFKA_SSL === "false" && env.KAFKA_SSL_CA_FILE)
    problems.push("KAFKA_SSL_CA_FILE: is set but KAFKA_SSL=false");
  if (env.KAFKA_SSL_CA_FILE && !isReadableFile(env.KAFKA_SSL_CA_FILE))
    problems.push(`KAFKA_SSL_CA_FILE: cannot read ${env.KAFKA_SSL_CA_FILE}`);
  if (env.NODE_ENV === "production" && mechanism === "plain" && !tls)
    problems.push("KAFKA_SASL_MECHANISM: plain sends the password in clear; use it only with KAFKA_SSL=true");
  return problems;
}

function isReadableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
