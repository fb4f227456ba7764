import { and, inArray, lt, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { commandLog, roomDepartures } from "../db/schema.js";
import type { Logger } from "../shared/logger.js";

/**
 * Deletes command_log entries older than the retention, a batch at a time. The retention
 * must exceed how long Kafka keeps chat.commands (7 days by default): a command that can
 * still be redelivered must still be found in the log.
 */
export async function pruneCommandLog(db: Database, retentionHours: number, batchSize = 5000): Promise<number> {
  let deleted = 0;
  const cutoff = sql`now() - make_interval(hours => ${retentionHours})`;
  for (;;) {
    const oldest = db
      .select({ id: commandLog.commandId })
      .from(commandLog)
      .where(lt(commandLog.appliedAt, cutoff))
      .limit(batchSize);
    const rows = await db
      .delete(commandLog)
      .where(and(inArray(commandLog.commandId, oldest), lt(commandLog.appliedAt, cutoff)))
      .returning({ id: commandLog.commandId });
    deleted += rows.length;
    if (rows.length < batchSize) break;
  }
  // Departures serve resumed feeds, which read command_log: they go with it.
  await db.delete(roomDepartures).where(lt(roomDepartures.departedAt, cutoff));
  return deleted;
}

/** Prunes once at start and then every `everyMs`; errors are logged and retried next time. */
export function startCommandLogPruner(options: {
  db: Database;
  retentionHours: number;
  everyMs?: number;
  logger: Logger;
}) {
  const run = () =>
    pruneCommandLog(options.db, options.retentionHours).then(
      (deleted) => deleted > 0 && options.logger.info({ deleted }, "pruned command_log"),
      (error: unknown) => options.logger.warn({ err: error }, "could not prune command_log"),
    );
  void run();
  const timer = setInterval(run, options.everyMs ?? 3_600_000);
  timer.unref();
  return { stop: async () => clearInterval(timer) };
}
