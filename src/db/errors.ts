/**
 * The driver's error code (SQLSTATE like `23505`, or a connection code like
 * `CONNECTION_CLOSED` / `ECONNREFUSED`), looking through wrappers such as drizzle's
 * DrizzleQueryError, which keeps the driver's error as `cause`.
 */
export function databaseErrorCode(error: unknown): string | null {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return null;
}

/** Data exceptions and integrity violations: retrying the same statement cannot succeed. */
export const isPermanentDatabaseError = (error: unknown): boolean => /^(22|23)/.test(databaseErrorCode(error) ?? "");

/** A lost or refused connection, or a server shutting down: retrying later can succeed. */
export const isDatabaseUnavailable = (error: unknown): boolean =>
  /^(CONNECTION_|CONNECT_TIMEOUT|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|08|57P0)/.test(databaseErrorCode(error) ?? "");
