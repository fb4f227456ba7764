import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { defineCommand, messageRecord } from "../../commands/protocol.js";
import type { Transaction } from "../../db/client.js";
import { messages, reactions } from "../../db/schema.js";
import { notFound } from "../../errors.js";
import { requireMember } from "../rooms/membership.js";
import { emoji } from "./reactions.rules.js";

const payload = z.object({ roomId: z.uuid(), messageId: z.uuid(), emoji });

/** The message, if the actor belongs to its room and it is not deleted. */
async function reactable(tx: Transaction, roomId: string, messageId: string, actorId: string) {
  await requireMember(tx, roomId, actorId);
  const [message] = await tx
    .select()
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.roomId, roomId)));
  if (!message || message.deletedAt) throw notFound(`no message with id ${messageId}`);
  return message;
}

export const reactCommand = defineCommand({
  type: "React",
  payload,
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, { payload: p, actorId }) {
    const message = await reactable(tx, p.roomId, p.messageId, actorId!);
    const added = await tx
      .insert(reactions)
      .values({ messageId: p.messageId, userId: actorId!, emoji: p.emoji })
      .onConflictDoNothing()
      .returning({ emoji: reactions.emoji });
    const events =
      added.length > 0
        ? [{ type: "MessageUpdated" as const, roomId: p.roomId, message, change: "reactions" as const }]
        : [];
    return { result: message, events };
  },
});

export const unreactCommand = defineCommand({
  type: "Unreact",
  payload,
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, { payload: p, actorId }) {
    const message = await reactable(tx, p.roomId, p.messageId, actorId!);
    const removed = await tx
      .delete(reactions)
      .where(and(eq(reactions.messageId, p.messageId), eq(reactions.userId, actorId!), eq(reactions.emoji, p.emoji)))
      .returning({ emoji: reactions.emoji });
    const events =
      removed.length > 0
        ? [{ type: "MessageUpdated" as const, roomId: p.roomId, message, change: "reactions" as const }]
        : [];
    return { result: message, events };
  },
});

export const reactionCommands = [reactCommand, unreactCommand];
