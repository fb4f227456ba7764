import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { defineCommand, messageRecord } from "../../commands/protocol.js";
import { messageColumns, messages, threadReads } from "../../db/schema.js";
import { notFound } from "../../shared/errors.js";
import { checkThreadParent } from "../messages/messages.rules.js";
import { requireMember } from "../rooms/membership.js";

/**
 * A member's read position in a thread (its parent deleted or not) moves forward, never back
 * nor past the room's newest message; nothing is announced.
 */
export const markThreadReadCommand = defineCommand({
  type: "MarkThreadRead",
  payload: z.object({ roomId: z.uuid(), parentId: z.uuid(), seq: z.number().int().min(0) }),
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    const room = await requireMember(tx, payload.roomId, actorId!);
    const [found] = await tx
      .select(messageColumns)
      .from(messages)
      .where(and(eq(messages.id, payload.parentId), eq(messages.roomId, payload.roomId)));
    if (!found) throw notFound(`no message with id ${payload.parentId}`);
    const parent = checkThreadParent(found);
    await tx
      .insert(threadReads)
      .values({ parentId: parent.id, userId: actorId!, lastReadSeq: Math.min(payload.seq, room.lastSeq) })
      .onConflictDoUpdate({
        target: [threadReads.parentId, threadReads.userId],
        set: { lastReadSeq: sql`greatest(${threadReads.lastReadSeq}, excluded.last_read_seq)` },
      });
    return { result: parent };
  },
});

export const threadCommands = [markThreadReadCommand];
