import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { messages, savedMessages } from "../../db/schema.js";
import { defineCommand } from "../../commands/protocol.js";
import { notFound } from "../../shared/errors.js";
import { requireMemberLocked } from "../rooms/membership.js";

export const saveMessageCommand = defineCommand({
  type: "SaveMessage",
  payload: z.object({ messageId: z.uuid() }),
  result: z.object({ messageId: z.uuid(), savedAt: z.coerce.date() }),
  key: (_p, actorId) => actorId!,
  async apply(tx, { payload, actorId }) {
    const [message] = await tx
      .select({ roomId: messages.roomId })
      .from(messages)
      .where(eq(messages.id, payload.messageId));
    if (!message) throw notFound(`no message with id ${payload.messageId}`);
    await requireMemberLocked(tx, message.roomId, actorId!);
    await tx.insert(savedMessages).values({ userId: actorId!, messageId: payload.messageId }).onConflictDoNothing();
    // Saving twice keeps the first savedAt.
    const [saved] = await tx
      .select({ savedAt: savedMessages.savedAt })
      .from(savedMessages)
      .where(and(eq(savedMessages.userId, actorId!), eq(savedMessages.messageId, payload.messageId)));
    return { result: { messageId: payload.messageId, savedAt: saved!.savedAt } };
  },
});

export const unsaveMessageCommand = defineCommand({
  type: "UnsaveMessage",
  payload: z.object({ messageId: z.uuid() }),
  result: z.object({ removed: z.boolean() }),
  key: (_p, actorId) => actorId!,
  async apply(tx, { payload, actorId }) {
    const removed = await tx
      .delete(savedMessages)
      .where(and(eq(savedMessages.userId, actorId!), eq(savedMessages.messageId, payload.messageId)))
      .returning({ messageId: savedMessages.messageId });
    return { result: { removed: removed.length > 0 } };
  },
});

export const savedCommands = [saveMessageCommand, unsaveMessageCommand];
