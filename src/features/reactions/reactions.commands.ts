import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { reactions } from "../../db/schema.js";
import { badInput } from "../../shared/errors.js";
import { messageChangeCommand } from "../messages/lifecycle.commands.js";
import { emoji } from "./reactions.rules.js";

/** React or Unreact: only a change is announced (a repeated reaction, or a redelivered command, is not). */
const payload = z.object({ roomId: z.uuid(), messageId: z.uuid(), emoji });

/** Distinct reactions one user may put on one message (short codes are many; rows should not be). */
export const MAX_REACTIONS_PER_USER = 20;

export const reactCommand = messageChangeCommand("React", payload, "reactions", async (tx, p, _message, actorId) => {
  const [mine] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(reactions)
    .where(and(eq(reactions.messageId, p.messageId), eq(reactions.userId, actorId)));
  if (mine!.n >= MAX_REACTIONS_PER_USER)
    throw badInput(`at most ${MAX_REACTIONS_PER_USER} different reactions per message`, "emoji");
  const added = await tx
    .insert(reactions)
    .values({ messageId: p.messageId, userId: actorId, emoji: p.emoji })
    .onConflictDoNothing()
    .returning({ emoji: reactions.emoji });
  return added.length > 0;
});

export const unreactCommand = messageChangeCommand(
  "Unreact",
  payload,
  "reactions",
  async (tx, p, _message, actorId) => {
    const removed = await tx
      .delete(reactions)
      .where(and(eq(reactions.messageId, p.messageId), eq(reactions.userId, actorId), eq(reactions.emoji, p.emoji)))
      .returning({ emoji: reactions.emoji });
    return removed.length > 0;
  },
);

export const reactionCommands = [reactCommand, unreactCommand];
