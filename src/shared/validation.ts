import type { z } from "zod";
import { badInput, notFound } from "./errors.js";

/** Parses GraphQL arguments; every problem is reported in one BAD_USER_INPUT message. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join(".")} ${i.message}` : i.message));
  throw badInput(problems.join("; "), parsed.error.issues[0]?.path.join("."));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (id: string) => UUID.test(id);

/**
 * The one answer to an id argument that is not a UUID: it names nothing, so NOT_FOUND for
 * its own field, as an unknown id would be.
 */
export function requireId(id: string, what: "room" | "user" | "message"): string {
  if (!isUuid(id)) throw notFound(`no ${what} with id ${id}`);
  return id;
}
