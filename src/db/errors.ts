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

export interface DatabaseFailure {
  /**
   * `invalid`: a data exception or integrity violation, the same statement can never succeed;
   * `unavailable`: a lost or refused connection, or a server shutting down;
   * `canceled`: the statement hit statement_timeout or was canceled;
   * `contended`: it waited past lock_timeout or was picked as a deadlock's victim (another
   * transaction holds what it needs: trying again soon usually succeeds);
   * `other`: anything else (a serialization failure, a bug).
   */
  kind: "invalid" | "unavailable" | "canceled" | "contended" | "other";
  /**
   * Whether the same work may succeed when tried again. Only `invalid` is not: a failure
   * nobody classified is retried rather than given up on, so a bug stalls a partition
   * (visible, fixable) instead of dropping its commands.
   */
  retriable: boolean;
  code: string | null;
}

/** The one classifier of driver errors: what failed, and whether trying again can help. */
export function databaseFailure(error: unknown): DatabaseFailure {
  const code = databaseErrorCode(error);
  const kind = /^(22|23)/.test(code ?? "")
    ? "invalid"
    : /^(CONNECTION_|CONNECT_TIMEOUT|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|08|57P0)/.test(code ?? "")
      ? "unavailable"
      : code === "57014"
        ? "canceled"
        : code === "55P03" || code === "40P01"
          ? "contended"
          : "other";
  return { kind, retriable: kind !== "invalid", code };
}
