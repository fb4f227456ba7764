import { and, eq, notExists, sql } from "drizzle-orm";
import { anyOf } from "../../db/arrays.js";
import { rowsOf, type Database, type Transaction } from "../../db/client.js";
import type { RoomEvent } from "../../commands/protocol.js";
import { roomMembers, rooms, type RoomRow } from "../../db/schema.js";
import { membershipError } from "./rooms.rules.js";

/**
 * The room, if it exists and the user belongs to it, with their role there; NOT_FOUND or
 * FORBIDDEN otherwise. Run by the API for reads, and by workers inside the command's
 * transaction (the authoritative one).
 */
export async function memberOf(db: Database | Transaction, roomId: string, userId: string) {
  const [row] = await db
    .select({ room: rooms, memberId: roomMembers.userId, role: roomMembers.role })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, userId)))
    .where(eq(rooms.id, roomId));
  const refused = membershipError(roomId, row !== undefined, Boolean(row?.memberId));
  if (refused) throw refused;
  return { room: row!.room, role: row!.role! };
}

/** As memberOf, the room alone. */
export async function requireMember(db: Database | Transaction, roomId: string, userId: string): Promise<RoomRow> {
  return (await memberOf(db, roomId, userId)).room;
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

/** A user's role in a room, or null when they are not a member. */
export async function roleOf(tx: Transaction, roomId: string, userId: string): Promise<string | null> {
  const [row] = await tx
    .select({ role: roomMembers.role })
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
  return row?.role ?? null;
}

/**
 * Group rooms left without an owner (the owner left or deleted their account) pass to their
 * oldest admin, else their oldest member; the events that say so.
 */
export async function ensureOwners(tx: Transaction, roomIds: string[]): Promise<RoomEvent[]> {
  if (roomIds.length === 0) return [];
  const result = await tx.execute(sql`
    update ${roomMembers} m set role = 'OWNER' from (
      select distinct on (rm.room_id) rm.room_id, rm.user_id from ${roomMembers} rm
      join ${rooms} r on r.id = rm.room_id
      where rm.room_id = any(${sql.param(roomIds)}::uuid[]) and not r.is_direct
        and not exists (select 1 from ${roomMembers} o where o.room_id = rm.room_id and o.role = 'OWNER')
      order by rm.room_id, rm.role = 'ADMIN' desc, rm.joined_at, rm.user_id
    ) heir where m.room_id = heir.room_id and m.user_id = heir.user_id
    returning m.room_id, m.user_id`);
  return rowsOf<{ room_id: string; user_id: string }>(result).map((r) => ({
    type: "MemberRoleChanged",
    roomId: r.room_id,
    userId: r.user_id,
    role: "OWNER",
  }));
}
