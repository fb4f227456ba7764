import { count, eq } from "drizzle-orm";
import { z } from "zod";
import { defineCommand, messageRecord, type RoomEvent } from "../../commands/protocol.js";
import type { Transaction } from "../../db/client.js";
import { pinnedMessages, type MessageRow } from "../../db/schema.js";
import { liveMessage } from "../messages/lifecycle.commands.js";
import { checkPinLimit } from "./pins.rules.js";

const payload = z.object({ roomId: z.uuid(), messageId: z.uuid() });

/** Members see a pin change as a change of the message (`messageUpdated`, and their feed). */
const announce = (message: MessageRow, change: "pinned" | "unpinned"): RoomEvent => ({
  type: "MessageUpdated",
  roomId: message.roomId,
  message,
  change,
});

/**
 * PinMessage or UnpinMessage, by any member, of a live message of the room: `change` pins or
 * unpins it and says whether anything changed; only a change is announced.
 */
function pinCommand(
  type: "PinMessage" | "UnpinMessage",
  change: (tx: Transaction, message: MessageRow, actorId: string) => Promise<boolean>,
) {
  return defineCommand({
    type,
    payload,
    result: messageRecord,
    key: (p) => p.roomId,
    async apply(tx, { payload: p, actorId }) {
      const message = await liveMessage(tx, p.roomId, p.messageId, actorId!);
      const changed = await change(tx, message, actorId!);
      return {
        result: message,
        events: changed ? [announce(message, type === "PinMessage" ? "pinned" : "unpinned")] : [],
      };
    },
  });
}

/** Pins for everyone, below the room's limit; pinning it again changes nothing. */
export const pinMessageCommand = pinCommand("PinMessage", async (tx, message, actorId) => {
  const [pinned] = await tx.select().from(pinnedMessages).where(eq(pinnedMessages.messageId, message.id));
  if (pinned) return false;
  const [pins] = await tx.select({ n: count() }).from(pinnedMessages).where(eq(pinnedMessages.roomId, message.roomId));
  checkPinLimit(pins!.n);
  await tx.insert(pinnedMessages).values({ messageId: message.id, roomId: message.roomId, pinnedBy: actorId });
  return true;
});

/** Unpinning a message that is not pinned changes nothing. */
export const unpinMessageCommand = pinCommand("UnpinMessage", async (tx, message) => {
  const removed = await tx.delete(pinnedMessages).where(eq(pinnedMessages.messageId, message.id)).returning();
  return removed.length > 0;
});

export const pinCommands = [pinMessageCommand, unpinMessageCommand];
