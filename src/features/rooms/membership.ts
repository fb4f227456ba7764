import { and, eq, notExists } from "drizzle-orm";
import { anyOf } from "../../db/arrays.js";
import type { Database, Transaction } from "../../db/client.js";
import { roomMembers, rooms, type RoomRow } from "../../db/schema.js";
import { membershipError } from "./rooms.rules.js";

/**
 * The room, if it exists and the user belongs to it; NOT_FOUND or FORBIDDEN otherwise. Run
 * by the API for reads, and by workers inside the command's transaction (the authoritative one).
 */
export async function requireMember(db: Database | Transaction, roomId: string, userId: string): Promise<RoomRow> {
  const [row] = await db
    .select({ room: rooms, memberId: roomMembers.userId })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, userId)))
    .where(eq(rooms.id, roomId));
  const refused = membershipError(roomId, row !== undefined, Boolean(row?.memberId));
  if (refused) throw refused;
  return row!.room;
}

/**
 * requireMember for a command whose key is not the room's (saving is keyed by the user):
 * it also locks the membership row until the transaction ends, so a leave or a removal
 * applied at the same moment by another worker waits for this command, then removes what
 * it wrote (a saved copy), or is seen by it and refuses it. Without the lock, both commit.
 */
export async function requireMemberLocked(tx: Transaction, roomId: string, userId: string): Promise<RoomRow> {
  const [locked] = await tx
    .select({ userId: roomMembers.userId })
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
    .for("key share");
  const room = await requireMember(tx, roomId, userId);
  const refused = membershipError(roomId, true, locked !== undefined);
  if (refused) throw refused;
  return room;
}

/** Rooms nobody belongs to any more cannot be read by anyone: remove them and their history. */
export async function deleteEmptyRooms(tx: Transaction, roomIds: string[]): Promise<void> {
  if (roomIds.length === 0) return;
  await tx
    .delete(rooms)
    .where(
      and(
        anyOf(rooms.id, roomIds),
        notExists(tx.select({ one: roomMembers.userId }).from(roomMembers).where(eq(roomMembers.roomId, rooms.id))),
      ),
    );
}
