import { and, count, eq } from "drizzle-orm";
import { z } from "zod";
import { defineCommand, messageRecord, type RoomEvent } from "../../commands/protocol.js";
import type { Transaction } from "../../db/client.js";
import { pinnedMessages, type MessageRow } from "../../db/schema.js";
import { liveMessage } from "../messages/lifecycle.commands.js";
import { checkPinLimit } from "./pins.rules.js";

const payload = z.object({ roomId: z.uuid(), messageId: z.uuid() });

/** Members see a pin change as a change of the message (`messageUpdated`, and their feed). */
const changed = (message: MessageRow, change: "pinned" | "unpinned"): RoomEvent => ({
  type: "MessageUpdated",
  roomId: message.roomId,
  message,
  change,
});

const isPinned = async (tx: Transaction, messageId: string) =>
  (await tx.select().from(pinnedMessages).where(eq(pinnedMessages.messageId, messageId))).length > 0;

/** Any member pins a live message of the room for everyone; pinning it again changes nothing. */
export const pinMessageCommand = defineCommand({
  type: "PinMessage",
  payload,
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, { payload: p, actorId }) {
    const message = await liveMessage(tx, p.roomId, p.messageId, actorId!);
    if (await isPinned(tx, message.id)) return { result: message };
    const [pins] = await tx.select({ n: count() }).from(pinnedMessages).where(eq(pinnedMessages.roomId, p.roomId));
    checkPinLimit(pins!.n);
    await tx.insert(pinnedMessages).values({ messageId: message.id, roomId: p.roomId, pinnedBy: actorId });
    return { result: message, events: [changed(message, "pinned")] };
  },
});

/** Any member unpins; unpinning a message that is not pinned changes nothing. */
export const unpinMessageCommand = defineCommand({
  type: "UnpinMessage",
  payload,
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, { payload: p, actorId }) {
    const message = await liveMessage(tx, p.roomId, p.messageId, actorId!);
    const removed = await tx
      .delete(pinnedMessages)
      .where(and(eq(pinnedMessages.messageId, message.id), eq(pinnedMessages.roomId, p.roomId)))
      .returning();
    return { result: message, events: removed.length > 0 ? [changed(message, "unpinned")] : [] };
  },
});

export const pinCommands = [pinMessageCommand, unpinMessageCommand];
