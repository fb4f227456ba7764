/**
 * Spans for postgres.js statements (OpenTelemetry's instrumentation-pg covers `pg` only): the
 * client handed to Drizzle is wrapped so that every `unsafe` query, in or out of a
 * transaction, is a CLIENT span named and described by the database conventions. A statement
 * outside any trace (a timer's cleanup) makes no span of its own.
 */
import { SpanKind, tracing, failed, type Span, type SpanSpec } from "../shared/tracing.js";

interface Server {
  address: string;
  port: number;
}

type Callback = (sql: unknown) => unknown;

/** `sql`, whose statements (and those of its transactions and savepoints) are spans. */
export function traceStatements<T extends object>(sql: T, server: Server): T {
  return new Proxy(sql, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (property === "unsafe")
        return (text: string, ...rest: unknown[]) => traced(value.call(target, text, ...rest), text, server);
      if (property === "begin" || property === "savepoint")
        return (...args: unknown[]) => {
          const fn = args.pop() as Callback;
          return value.call(target, ...args, (tx: object) => fn(traceStatements(tx, server)));
        };
      return value;
    },
  });
}

/** postgres.js runs a query when it is awaited: the span runs from then until it settles. */
function traced<Q extends { then: PromiseLike<unknown>["then"] }>(query: Q, text: string, server: Server): Q {
  if (!tracing.active()) return query;
  const then = query.then;
  let span: Span | undefined;
  query.then = function (this: Q, onFulfilled, onRejected) {
    if (span) return then.call(this, onFulfilled, onRejected);
    span = tracing.begin(() => statementSpan(text, server));
    const settled = (error?: unknown) => {
      if (error !== undefined) failed(span, error);
      span?.end();
    };
    return then.call(
      this,
      (rows) => {
        settled();
        return onFulfilled ? onFulfilled(rows) : (rows as never);
      },
      (error: unknown) => {
        settled(error);
        if (onRejected) return onRejected(error);
        throw error;
      },
    );
  } as Q["then"];
  return query;
}

const FIRST_WORD = /^\s*(\w+)/;
/** A statement's main operation and table; a WITH's is the first write in it, else its select. */
const MAIN = [
  { operation: "INSERT", pattern: /\binsert\s+into\s+"?([\w.]+)/i },
  { operation: "UPDATE", pattern: /\bupdate\s+"?([\w.]+)"?\s+set\b/i },
  { operation: "DELETE", pattern: /\bdelete\s+from\s+"?([\w.]+)/i },
  { operation: "SELECT", pattern: /\bfrom\s+"?([\w.]+)/i },
];

function summary(text: string): { operation: string; table?: string } {
  const first = FIRST_WORD.exec(text)?.[1]?.toUpperCase() ?? "SQL";
  const candidates = first === "WITH" ? MAIN : MAIN.filter((m) => m.operation === first);
  for (const { operation, pattern } of candidates) {
    const table = pattern.exec(text)?.[1];
    if (table) return { operation, table };
  }
  return { operation: first };
}

/** Name and attributes: `INSERT messages`, with the statement's text (parameters are not in it). */
function statementSpan(text: string, server: Server): SpanSpec {
  const { operation, table } = summary(text);
  return {
    name: table ? `${operation} ${table}` : operation,
    kind: SpanKind.CLIENT,
    attributes: {
      "db.system.name": "postgresql",
      "db.operation.name": operation,
      ...(table ? { "db.collection.name": table } : {}),
      "db.query.text": text.length > 2000 ? `${text.slice(0, 2000)}...` : text,
      "server.address": server.address,
      "server.port": server.port,
    },
  };
}
