import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { defineCommand, messageRecord } from "../../commands/protocol.js";
import type { Transaction } from "../../db/client.js";
import { reactions } from "../../db/schema.js";
import { badInput } from "../../shared/errors.js";
import { liveMessage } from "../messages/lifecycle.commands.js";
import { emoji } from "./reactions.rules.js";

const payload = z.object({ roomId: z.uuid(), messageId: z.uuid(), emoji });

/**
 * React or Unreact: `change` adds or removes the actor's reaction and says whether anything
 * changed; only a change is announced (a repeated reaction, or a redelivered command, is not).
 */
function reactionCommand(
  type: "React" | "Unreact",
  change: (tx: Transaction, p: z.infer<typeof payload>, actorId: string) => Promise<unknown[]>,
) {
  return defineCommand({
    type,
    payload,
    result: messageRecord,
    key: (p) => p.roomId,
    async apply(tx, { payload: p, actorId }) {
      const message = await liveMessage(tx, p.roomId, p.messageId, actorId!);
      const changed = (await change(tx, p, actorId!)).length > 0;
      const events = changed
        ? [{ type: "MessageUpdated" as const, roomId: p.roomId, message, change: "reactions" as const }]
        : [];
      return { result: message, events };
    },
  });
}

/** Distinct reactions one user may put on one message (short codes are many; rows should not be). */
export const MAX_REACTIONS_PER_USER = 20;

export const reactCommand = reactionCommand("React", async (tx, p, actorId) => {
  const [mine] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(reactions)
    .where(and(eq(reactions.messageId, p.messageId), eq(reactions.userId, actorId)));
  if (mine!.n >= MAX_REACTIONS_PER_USER)
    throw badInput(`at most ${MAX_REACTIONS_PER_USER} different reactions per message`, "emoji");
  return tx
    .insert(reactions)
    .values({ messageId: p.messageId, userId: actorId, emoji: p.emoji })
    .onConflictDoNothing()
    .returning({ emoji: reactions.emoji });
});

export const unreactCommand = reactionCommand("Unreact", (tx, p, actorId) =>
  tx
    .delete(reactions)
    .where(and(eq(reactions.messageId, p.messageId), eq(reactions.userId, actorId), eq(reactions.emoji, p.emoji)))
    .returning({ emoji: reactions.emoji }),
);

export const reactionCommands = [reactCommand, unreactCommand];
