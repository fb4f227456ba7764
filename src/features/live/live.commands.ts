import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { defineCommand } from "../../commands/protocol.js";
import { users } from "../../db/schema.js";

/** The user's last WebSocket on an API process closed at `at`: their lastSeenAt, kept when the API restarts. */
export const recordLastSeenCommand = defineCommand({
  type: "RecordLastSeen",
  payload: z.object({ userId: z.uuid(), at: z.iso.datetime() }),
  result: z.object({}),
  key: (p) => p.userId,
  async apply(tx, { payload }) {
    // Only forward: a late or redelivered report never moves it back.
    await tx
      .update(users)
      .set({ lastSeenAt: sql`greatest(${users.lastSeenAt}, ${payload.at}::timestamptz)` })
      .where(eq(users.id, payload.userId));
    return { result: {} };
  },
});

export const liveCommands = [recordLastSeenCommand];
