import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { anyOf } from "../../db/arrays.js";
import { messages, rooms, type MessageRow } from "../../db/schema.js";
import { defineCommand, messageRecord, type Applied } from "../../commands/protocol.js";
import { notFound } from "../../shared/errors.js";
import { requireMember } from "../rooms/membership.js";
import { clientMessageId, messageBody } from "./messages.rules.js";
import { messageIdOf, sendMessages } from "./sendMessages.commands.js";

export const sendMessageCommand = defineCommand({
  type: "SendMessage",
  payload: z.object({
    roomId: z.uuid(),
    body: messageBody,
    clientMessageId: clientMessageId.nullable(),
  }),
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, command) {
    const { actorId, payload, issuedAt } = command;
    // A redelivered command or a client's retry stored before never gets here (the worker
    // finds its message with findApplied), nor could it be stored twice: see messageIdOf.
    await requireMember(tx, payload.roomId, actorId!);
    const id = messageIdOf(command);
    if (payload.clientMessageId !== null) {
      // A client's retry of a message stored earlier in this batch (another command id).
      const [same] = await tx.select().from(messages).where(eq(messages.id, id));
      if (same) return { result: same };
    }

    // The row lock taken here orders concurrent writers of one room; seq has no gaps
    // because it is assigned and stored in the same transaction.
    const [room] = await tx
      .update(rooms)
      .set({ lastSeq: sql`${rooms.lastSeq} + 1`, lastActivityAt: sql`clock_timestamp()` })
      .where(eq(rooms.id, payload.roomId))
      .returning({ seq: rooms.lastSeq });
    if (!room) throw notFound(`no room with id ${payload.roomId}`);

    const [stored] = await tx
      .insert(messages)
      .values({
        id,
        roomId: payload.roomId,
        seq: room.seq,
        senderId: actorId,
        body: payload.body,
        clientMessageId: payload.clientMessageId,
      })
      .returning();
    return { result: stored!, events: [{ type: "MessageAdded", roomId: payload.roomId, message: stored!, issuedAt }] };
  },
  applyMany: sendMessages,
  // The message row is the command's record: found by its id (messageIdOf).
  async findApplied(tx, commands) {
    const ids = new Map(commands.map((c) => [c.id, messageIdOf(c)]));
    const stored = await tx
      .select()
      .from(messages)
      .where(anyOf(messages.id, [...new Set(ids.values())]));
    const byId = new Map(stored.map((m) => [m.id, m]));
    const applied = new Map<string, Applied<MessageRow>>();
    for (const { id: commandId, issuedAt } of commands) {
      const message = byId.get(ids.get(commandId)!);
      if (message)
        applied.set(commandId, {
          result: message,
          events: [{ type: "MessageAdded", roomId: message.roomId, message, issuedAt }],
        });
    }
    return applied;
  },
  resultOf: (event) => (event.type === "MessageAdded" ? event.message : undefined),
});

export const messageCommands = [sendMessageCommand];
