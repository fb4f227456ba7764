import { pino, type Logger } from "pino";
import { tracing } from "./tracing.js";

export type { Logger };

/** Structured JSON logs on stdout (with trace_id and span_id while tracing); pipe through `pino-pretty` for humans. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => tracing.logFields(),
  });
}
