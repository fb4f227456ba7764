import { count, eq } from "drizzle-orm";
import { z } from "zod";
import { pinnedMessages } from "../../db/schema.js";
import { messageChangeCommand } from "../messages/lifecycle.commands.js";
import { checkPinLimit } from "./pins.rules.js";

/** Any member pins or unpins a live message of the room; members see it as a `messageUpdated`. */
const payload = z.object({ roomId: z.uuid(), messageId: z.uuid() });

/** Pins for everyone, below the room's limit; pinning it again changes nothing. */
export const pinMessageCommand = messageChangeCommand(
  "PinMessage",
  payload,
  "pinned",
  async (tx, _p, message, actorId) => {
    const [pinned] = await tx.select().from(pinnedMessages).where(eq(pinnedMessages.messageId, message.id));
    if (pinned) return false;
    const [pins] = await tx
      .select({ n: count() })
      .from(pinnedMessages)
      .where(eq(pinnedMessages.roomId, message.roomId));
    checkPinLimit(pins!.n);
    await tx.insert(pinnedMessages).values({ messageId: message.id, roomId: message.roomId, pinnedBy: actorId });
    return true;
  },
);

/** Unpinning a message that is not pinned changes nothing. */
export const unpinMessageCommand = messageChangeCommand(
  "UnpinMessage",
  payload,
  "unpinned",
  async (tx, _p, message) => {
    const removed = await tx.delete(pinnedMessages).where(eq(pinnedMessages.messageId, message.id)).returning();
    return removed.length > 0;
  },
);

export const pinCommands = [pinMessageCommand, unpinMessageCommand];
