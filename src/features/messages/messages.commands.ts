import { and, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { messages, rooms } from "../../db/schema.js";
import { defineCommand, messageRecord } from "../../commands/protocol.js";
import { notFound } from "../../errors.js";
import { requireMember } from "../rooms/membership.js";
import { clientMessageId, messageBody } from "./messages.rules.js";
import { sendMessages } from "./sendMessages.bulk.js";

export const sendMessageCommand = defineCommand({
  type: "SendMessage",
  payload: z.object({
    roomId: z.uuid(),
    body: messageBody,
    clientMessageId: clientMessageId.nullable(),
  }),
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, { id: commandId, actorId, payload, issuedAt }) {
    // A redelivered command never gets here (the worker finds its message with findApplied);
    // the message's id is the command's id, so it could not be stored twice anyway.
    await requireMember(tx, payload.roomId, actorId!);

    if (payload.clientMessageId !== null) {
      const [same] = await tx
        .select()
        .from(messages)
        .where(
          and(
            eq(messages.roomId, payload.roomId),
            eq(messages.senderId, actorId!),
            eq(messages.clientMessageId, payload.clientMessageId),
          ),
        );
      if (same) return { result: same }; // a client retry: already stored and announced
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
        id: commandId,
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
  // The message row is the command's record: its id is the command's id.
  async findApplied(tx, commands) {
    const issued = new Map(commands.map((c) => [c.id, c.issuedAt]));
    const stored = await tx
      .select()
      .from(messages)
      .where(inArray(messages.id, [...issued.keys()]));
    return new Map(
      stored.map((message) => [
        message.id,
        {
          result: message,
          events: [{ type: "MessageAdded", roomId: message.roomId, message, issuedAt: issued.get(message.id) }],
        },
      ]),
    );
  },
  resultOf: (event) => (event.type === "MessageAdded" ? event.message : undefined),
});

export const messageCommands = [sendMessageCommand];
