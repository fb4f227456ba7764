import { and, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { anyOf } from "../../db/arrays.js";
import { friendships, messages, roomDepartures, roomMembers, rooms, savedMessages, users } from "../../db/schema.js";
import { defineCommand, type RoomEvent } from "../../commands/protocol.js";
import { forbidden, notFound } from "../../shared/errors.js";
import type { Transaction } from "../../db/client.js";
import { checkNotBlockedBy } from "../blocks/blocks.rules.js";
import { openDirectRoomCommand } from "./directRooms.commands.js";
import { roleCommands } from "./roles.commands.js";
import { deleteEmptyRooms, ensureOwners, memberOf, requireMember, roleOf } from "./membership.js";
import { checkReadPosition, checkRemoveMember, MAX_ROOM_MEMBERS, roomName } from "./rooms.rules.js";

/** A member leaves: their membership and the messages they saved from this room go; the departure is noted. */
async function removeMembership(tx: Transaction, roomId: string, userId: string): Promise<boolean> {
  const removed = await tx
    .delete(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
    .returning({ userId: roomMembers.userId });
  if (removed.length === 0) return false;
  // A resumed feed replays this room up to here (features/live/replay.ts).
  await tx.insert(roomDepartures).values({ userId, roomId });
  await tx
    .delete(savedMessages)
    .where(
      and(
        eq(savedMessages.userId, userId),
        inArray(
          savedMessages.messageId,
          tx.select({ id: messages.id }).from(messages).where(eq(messages.roomId, roomId)),
        ),
      ),
    );
  return true;
}

export const createRoomCommand = defineCommand({
  type: "CreateRoom",
  payload: z.object({
    roomId: z.uuid(),
    name: roomName,
    /** The other members; the creator (the actor) is always a member. */
    memberIds: z.array(z.uuid()).max(MAX_ROOM_MEMBERS - 1),
  }),
  result: z.object({ roomId: z.uuid() }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    const others = payload.memberIds.filter((id) => id !== actorId);
    if (others.length > 0) {
      const found = await tx
        .select({ id: users.id, friend: friendships.friendId })
        .from(users)
        .leftJoin(friendships, and(eq(friendships.userId, actorId!), eq(friendships.friendId, users.id)))
        .where(anyOf(users.id, others));
      const missing = others.filter((id) => !found.some((u) => u.id === id));
      if (missing.length > 0) throw notFound(`no user with id ${missing.join(", ")}`);
      const strangers = found.filter((u) => !u.friend).map((u) => u.id);
      if (strangers.length > 0)
        throw forbidden(`only friends can be added to a room; not your friends: ${strangers.join(", ")}`);
      await checkNotBlockedBy(tx, others, actorId!, "you cannot add one of these users to a room");
    }
    await tx.insert(rooms).values({ id: payload.roomId, name: payload.name, creatorId: actorId });
    const memberIds = [actorId!, ...others];
    await tx
      .insert(roomMembers)
      .values(
        memberIds.map((userId) => ({ roomId: payload.roomId, userId, role: userId === actorId ? "OWNER" : "MEMBER" })),
      );
    return {
      result: { roomId: payload.roomId },
      events: [{ type: "RoomCreated", roomId: payload.roomId, creatorId: actorId!, memberIds }],
    };
  },
});

export const leaveRoomCommand = defineCommand({
  type: "LeaveRoom",
  payload: z.object({ roomId: z.uuid() }),
  result: z.object({ left: z.literal(true) }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    await requireMember(tx, payload.roomId, actorId!);
    await removeMembership(tx, payload.roomId, actorId!);
    await deleteEmptyRooms(tx, [payload.roomId]);
    const handedOver = await ensureOwners(tx, [payload.roomId]);
    const left: RoomEvent = { type: "MemberLeft", roomId: payload.roomId, userId: actorId! };
    return { result: { left: true }, events: [left, ...handedOver] };
  },
});

export const removeMemberCommand = defineCommand({
  type: "RemoveMember",
  payload: z.object({ roomId: z.uuid(), userId: z.uuid() }),
  result: z.object({ roomId: z.uuid() }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    const { room, role } = await memberOf(tx, payload.roomId, actorId!);
    const target = await roleOf(tx, payload.roomId, payload.userId);
    checkRemoveMember(room, { id: actorId!, role }, { id: payload.userId, role: target });
    if (!(await removeMembership(tx, payload.roomId, payload.userId)))
      throw notFound(`user ${payload.userId} is not a member of room ${payload.roomId}`);
    return {
      result: { roomId: payload.roomId },
      events: [{ type: "MemberLeft", roomId: payload.roomId, userId: payload.userId, removedBy: actorId! }],
    };
  },
});

export const markReadCommand = defineCommand({
  type: "MarkRead",
  payload: z.object({ roomId: z.uuid(), seq: z.number().int().min(0) }),
  result: z.object({ lastReadSeq: z.number().int() }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    const room = await requireMember(tx, payload.roomId, actorId!);
    checkReadPosition(room, payload.seq);
    // Read positions only move forward: a late or repeated markRead with a lower seq is a no-op.
    const [member] = await tx
      .update(roomMembers)
      .set({ lastReadSeq: sql`greatest(${roomMembers.lastReadSeq}, ${payload.seq})` })
      .where(and(eq(roomMembers.roomId, payload.roomId), eq(roomMembers.userId, actorId!)))
      .returning({ lastReadSeq: roomMembers.lastReadSeq });
    const { lastReadSeq } = member!;
    // Every member's feed shows it (read receipts; the reader's other devices).
    return {
      result: { lastReadSeq },
      events: [{ type: "ReadPositionMoved", roomId: payload.roomId, userId: actorId!, lastReadSeq }],
    };
  },
});

export const roomCommands = [
  ...roleCommands,
  createRoomCommand,
  leaveRoomCommand,
  removeMemberCommand,
  markReadCommand,
  openDirectRoomCommand,
];
