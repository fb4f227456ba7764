import { count, eq } from "drizzle-orm";
import { z } from "zod";
import { pinnedMessages } from "../../db/schema.js";
import { messageChangeCommand } from "../messages/lifecycle.commands.js";
import type { Transaction } from "../../db/client.js";
import { memberOf } from "../rooms/membership.js";
import { checkCanPin, checkPinLimit } from "./pins.rules.js";

async function checkPinner(tx: Transaction, roomId: string, actorId: string) {
  const { room, role } = await memberOf(tx, roomId, actorId);
  checkCanPin(room, role);
}

/** The room's owner or an admin pins or unpins a live message; members see it as a `messageUpdated`. */
const payload = z.object({ roomId: z.uuid(), messageId: z.uuid() });

/** Pins for everyone, below the room's limit; pinning it again changes nothing. */
export const pinMessageCommand = messageChangeCommand(
  "PinMessage",
  payload,
  "pinned",
  async (tx, _p, message, actorId) => {
    await checkPinner(tx, message.roomId, actorId);
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
  async (tx, _p, message, actorId) => {
    await checkPinner(tx, message.roomId, actorId);
    const removed = await tx.delete(pinnedMessages).where(eq(pinnedMessages.messageId, message.id)).returning();
    return removed.length > 0;
  },
);

export const pinCommands = [pinMessageCommand, unpinMessageCommand];
