import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { derivedUuid } from "../../commands/derivedId.js";
import { defineCommand, type RoomEvent } from "../../commands/protocol.js";
import type { Transaction } from "../../db/client.js";
import { friendships, roomMembers, rooms, users } from "../../db/schema.js";
import { forbidden, notFound } from "../../shared/errors.js";
import { checkNotBlockedBy } from "../blocks/blocks.rules.js";

/**
 * The one 1:1 room of two users: its id is derived from the pair, so both sides (and two API
 * processes asking at once) name the same room, and its commands share a Kafka key, so the
 * workers apply them one after the other: the first creates it, the next finds it.
 */
export function directRoomId(a: string, b: string): string {
  const [first, second] = [a, b].sort();
  return derivedUuid(`direct:${first}:${second}`);
}

export const DIRECT_ROOM_NAME = "Direct chat";

export const openDirectRoomCommand = defineCommand({
  type: "OpenDirectRoom",
  payload: z.object({ roomId: z.uuid(), userId: z.uuid() }),
  result: z.object({ roomId: z.uuid() }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    if (payload.roomId !== directRoomId(actorId!, payload.userId))
      throw forbidden("not the direct room of these users");
    const [existing] = await tx.select({ id: rooms.id }).from(rooms).where(eq(rooms.id, payload.roomId));
    const [member] = existing
      ? await tx
          .select({ id: roomMembers.userId })
          .from(roomMembers)
          .where(and(eq(roomMembers.roomId, payload.roomId), eq(roomMembers.userId, actorId!)))
      : [];
    if (member) return { result: { roomId: payload.roomId } };
    await requireFriend(tx, actorId!, payload.userId);
    await checkNotBlockedBy(tx, [payload.userId], actorId!, "you cannot open a direct chat with this user");
    const events: RoomEvent[] = [];
    if (!existing) {
      await tx.insert(rooms).values({ id: payload.roomId, name: DIRECT_ROOM_NAME, creatorId: actorId, isDirect: true });
      await tx.insert(roomMembers).values([
        { roomId: payload.roomId, userId: actorId! },
        { roomId: payload.roomId, userId: payload.userId },
      ]);
      events.push({
        type: "RoomCreated",
        roomId: payload.roomId,
        creatorId: actorId!,
        memberIds: [actorId!, payload.userId],
      });
    } else {
      // They had left it: back in, with its history (the other side never left).
      await tx.insert(roomMembers).values({ roomId: payload.roomId, userId: actorId! }).onConflictDoNothing();
      events.push({ type: "RoomCreated", roomId: payload.roomId, creatorId: actorId!, memberIds: [actorId!] });
    }
    return { result: { roomId: payload.roomId }, events };
  },
});

/** Opening a direct chat needs the other user on your friend list (they need not have you on theirs). */
async function requireFriend(tx: Transaction, userId: string, otherId: string) {
  const [other] = await tx
    .select({ id: users.id, friend: friendships.friendId })
    .from(users)
    .leftJoin(friendships, and(eq(friendships.userId, userId), eq(friendships.friendId, users.id)))
    .where(eq(users.id, otherId));
  if (!other) throw notFound(`no user with id ${otherId}`);
  if (!other.friend) throw forbidden("add the user as a friend first to open a direct chat");
}
