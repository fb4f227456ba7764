import { sql, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";

// Lists travel as array parameters, so a statement's text is the same whatever their length.
// (drizzle's inArray and multi-row values write placeholders per value: each length is a new
// statement, which postgres.js prepares with an extra round trip and keeps, as the server
// does, for the connection's lifetime.)

/** `column = any($1::type[])`. */
export function anyOf(column: PgColumn, values: readonly unknown[]): SQL {
  return sql`${column} = any(${sql.param(values)}::${sql.raw(column.getSQLType())}[])`;
}

/**
 * `unnest($1::type1[], $2::type2[], ...) as alias(name1, name2, ...)`: the rows as a table, one
 * array per column, in the order `columns` lists them.
 */
export function unnestAs<Row>(
  alias: string,
  rows: readonly Row[],
  columns: Record<string, [type: string, pick: (row: Row) => unknown]>,
): SQL {
  const arrays = Object.values(columns).map(([type, pick]) => sql`${sql.param(rows.map(pick))}::${sql.raw(type)}[]`);
  return sql`unnest(${sql.join(arrays, sql`, `)}) as ${sql.raw(alias)}(${sql.raw(Object.keys(columns).join(", "))})`;
}
