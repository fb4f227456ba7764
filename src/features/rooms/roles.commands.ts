import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { defineCommand, type RoomEvent } from "../../commands/protocol.js";
import { roomMembers, rooms } from "../../db/schema.js";
import { notFound } from "../../shared/errors.js";
import { memberOf, roleOf } from "./membership.js";
import { checkRename, checkSetRole, roomName, roomRole } from "./rooms.rules.js";

/**
 * The owner names a member ADMIN or MEMBER, or hands the room over (OWNER: the target becomes
 * the owner and the old owner an admin). Keyed by the room, so it is ordered with removals
 * and leaves of the same room: a role is never given to someone who has just gone.
 */
export const setMemberRoleCommand = defineCommand({
  type: "SetMemberRole",
  payload: z.object({ roomId: z.uuid(), userId: z.uuid(), role: roomRole }),
  result: z.object({ roomId: z.uuid() }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    const { room, role } = await memberOf(tx, payload.roomId, actorId!);
    checkSetRole(room, { id: actorId!, role }, payload.userId);
    if ((await roleOf(tx, payload.roomId, payload.userId)) === null)
      throw notFound(`user ${payload.userId} is not a member of room ${payload.roomId}`);
    const set = (userId: string, to: string) =>
      tx
        .update(roomMembers)
        .set({ role: to })
        .where(and(eq(roomMembers.roomId, payload.roomId), eq(roomMembers.userId, userId)));
    const changed = (userId: string, to: "OWNER" | "ADMIN" | "MEMBER"): RoomEvent => ({
      type: "MemberRoleChanged",
      roomId: payload.roomId,
      userId,
      role: to,
      changedBy: actorId!,
    });
    const events = [changed(payload.userId, payload.role)];
    // Handing over: one owner at a time.
    if (payload.role === "OWNER") {
      await set(actorId!, "ADMIN");
      events.push(changed(actorId!, "ADMIN"));
    }
    await set(payload.userId, payload.role);
    return { result: { roomId: payload.roomId }, events };
  },
});

export const renameRoomCommand = defineCommand({
  type: "RenameRoom",
  payload: z.object({ roomId: z.uuid(), name: roomName }),
  result: z.object({ roomId: z.uuid() }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    const { room, role } = await memberOf(tx, payload.roomId, actorId!);
    checkRename(room, role);
    await tx.update(rooms).set({ name: payload.name }).where(eq(rooms.id, payload.roomId));
    const event: RoomEvent = { type: "RoomRenamed", roomId: payload.roomId, name: payload.name, renamedBy: actorId! };
    return { result: { roomId: payload.roomId }, events: [event] };
  },
});

export const roleCommands = [setMemberRoleCommand, renameRoomCommand];
