import { pino, type Logger } from "pino";

export type { Logger };

/** Structured JSON logs on stdout; pipe through `pino-pretty` for humans. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
