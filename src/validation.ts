import type { z } from "zod";
import { badInput } from "./errors.js";

/** Parses GraphQL arguments; every problem is reported in one BAD_USER_INPUT message. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join(".")} ${i.message}` : i.message));
  throw badInput(problems.join("; "), parsed.error.issues[0]?.path.join("."));
}
