import { mkdirSync } from "node:fs";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { Logger } from "../shared/logger.js";
import { migrationsDir as migrationsFolder } from "../shared/paths.js";
import * as schema from "./schema.js";
import { tracing } from "../shared/tracing.js";
import { traceStatements } from "./tracedSql.js";

export type Schema = typeof schema;
/** Either driver: postgres-js against a server, or embedded PGlite. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** The rows of `db.execute(...)`: postgres.js answers with the rows, PGlite with an object holding them. */
export function rowsOf<Row>(result: unknown): Row[] {
  return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
}

export interface DatabaseHandle {
  db: Database;
  kind: "postgres" | "pglite";
  /** Applies pending migrations from drizzle/. */
  migrate(): Promise<void>;
  /** A trivial round trip, for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Arbitrary, fixed key for pg_advisory_lock around migrations. */
const MIGRATION_LOCK_ID = 727_001;

export interface DatabaseOptions {
  url?: string;
  pgliteDir: string;
  poolSize: number;
  logger: Logger;
  /** PostgreSQL's lock_timeout for every connection (0: none). */
  lockTimeoutMs?: number;
  /** Called for every SQL statement; tests count statements with it. */
  onQuery?: (sql: string, params: unknown[]) => void;
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const logger = options.onQuery
    ? { logQuery: (query: string, params: unknown[]) => options.onQuery!(query, params) }
    : undefined;
  if (options.url) {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const client = postgres(options.url, {
      max: options.poolSize,
      onnotice: () => {},
      connection: { application_name: "chat", lock_timeout: options.lockTimeoutMs ?? 0 },
    });
    const { hostname, port } = new URL(options.url);
    const traced = tracing.on ? traceStatements(client, { address: hostname, port: Number(port || 5432) }) : client;
    const db = drizzle(traced, { schema, logger });
    return {
      db: db as unknown as Database,
      kind: "postgres",
      async migrate() {
        // Several processes may start together: a session-level advisory lock on one
        // dedicated connection lets exactly one of them apply pending migrations at a time.
        const session = postgres(options.url!, { max: 1, onnotice: () => {} });
        try {
          await session`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
          await migrate(drizzle(session), { migrationsFolder });
        } finally {
          await session.end({ timeout: 5 });
        }
      },
      ping: async () => void (await client`select 1`),
      close: () => client.end({ timeout: 5 }),
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  if (!options.pgliteDir.startsWith("memory://")) mkdirSync(options.pgliteDir, { recursive: true });
  options.logger.info({ dir: options.pgliteDir }, "no DATABASE_URL: using embedded PGlite");
  const client = new PGlite(options.pgliteDir);
  const db = drizzle(client, { schema, logger });
  return {
    db: db as unknown as Database,
    kind: "pglite",
    migrate: () => migrate(db, { migrationsFolder }),
    ping: async () => void (await client.query("select 1")),
    close: () => client.close(),
  };
}
