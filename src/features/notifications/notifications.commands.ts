import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { defineCommand } from "../../commands/protocol.js";
import { roomMembers } from "../../db/schema.js";
import { requireMember } from "../rooms/membership.js";
import { notificationLevel } from "./notifications.rules.js";

/** A member's level in a room; the member's feeds learn it from the event (nobody else acts on it). */
export const setRoomNotificationsCommand = defineCommand({
  type: "SetRoomNotifications",
  payload: z.object({ roomId: z.uuid(), level: notificationLevel }),
  result: z.object({ roomId: z.uuid() }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    await requireMember(tx, payload.roomId, actorId!);
    await tx
      .update(roomMembers)
      .set({ notificationLevel: payload.level })
      .where(and(eq(roomMembers.roomId, payload.roomId), eq(roomMembers.userId, actorId!)));
    const event = {
      type: "NotificationLevelChanged" as const,
      roomId: payload.roomId,
      userId: actorId!,
      level: payload.level,
    };
    return { result: { roomId: payload.roomId }, events: [event] };
  },
});
