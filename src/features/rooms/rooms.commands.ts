import { eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { roomMembers, rooms, users } from "../../db/schema.js";
import { defineCommand } from "../../commands/protocol.js";
import { notFound } from "../../errors.js";

export const createRoomCommand = defineCommand({
  type: "CreateRoom",
  payload: z.object({
    roomId: z.uuid(),
    name: z.string().min(1).max(100),
    /** Includes the creator. */
    memberIds: z.array(z.uuid()).min(1).max(100),
  }),
  result: z.object({ roomId: z.uuid() }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    const [existing] = await tx.select({ id: rooms.id }).from(rooms).where(eq(rooms.id, payload.roomId));
    if (existing) return { result: { roomId: payload.roomId } }; // redelivered
    const found = await tx.select({ id: users.id }).from(users).where(inArray(users.id, payload.memberIds));
    const missing = payload.memberIds.filter((id) => !found.some((u) => u.id === id));
    if (missing.length > 0) throw notFound(`no user with id ${missing.join(", ")}`);
    await tx.insert(rooms).values({ id: payload.roomId, name: payload.name, creatorId: actorId });
    await tx.insert(roomMembers).values(payload.memberIds.map((userId) => ({ roomId: payload.roomId, userId })));
    return { result: { roomId: payload.roomId } };
  },
});

export const roomCommands = [createRoomCommand];
