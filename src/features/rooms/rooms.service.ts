import { randomUUID } from "node:crypto";
import { and, desc, eq, sql, type Placeholder, type SQL } from "drizzle-orm";
import { z } from "zod";
import { anyOf } from "../../db/arrays.js";
import type { Database } from "../../db/client.js";
import { messages, roomMembers, rooms, type MessageRow, type RoomRow, type UserRow } from "../../db/schema.js";
import { badInput } from "../../shared/errors.js";
import type { CommandBus } from "../../commands/ports.js";
import { groupBy } from "../../shared/collections.js";
import { parseInput, requireId } from "../../shared/validation.js";
import { directRoomId, openDirectRoomCommand } from "./directRooms.commands.js";
import { memberOf, requireMember } from "./membership.js";
import { createRoomCommand, leaveRoomCommand, markReadCommand, removeMemberCommand } from "./rooms.commands.js";
import { renameRoomCommand, setMemberRoleCommand } from "./roles.commands.js";
import {
  checkReadPosition,
  checkRemoveMember,
  checkRename,
  checkSetRole,
  MAX_ROOM_MEMBERS,
  membershipError,
  roomName,
  roomRole,
  type RoomRole,
} from "./rooms.rules.js";

export const MAX_ROOMS_PAGE = 500;

const createInput = z.object({
  name: roomName,
  memberIds: z
    .array(z.uuid("must be user ids"))
    .max(
      MAX_ROOM_MEMBERS - 1,
      `may name at most ${MAX_ROOM_MEMBERS - 1} other users (${MAX_ROOM_MEMBERS} members in all)`,
    ),
});
const markReadInput = z.object({ seq: z.number().int().min(0, "must be 0 or more") });
const listInput = z.object({
  first: z.number().int().min(1, "must be at least 1").max(MAX_ROOMS_PAGE, `must be at most ${MAX_ROOMS_PAGE}`),
});

/**
 * A member's read position: where markRead put it, or their own newest message in the room
 * if that is later (writing in a room means having read it). Derived on read, so sending a
 * message writes no room_members row; the max is an index-only lookup. The outer column is
 * spelled with its table: drizzle leaves columns unqualified in one-table selects, where
 * `room_id` would resolve to the subquery's own.
 */
export const readPosition = (userId: string | SQL | Placeholder) =>
  sql<number>`greatest(${roomMembers.lastReadSeq}, coalesce((select max(${messages.seq}) from ${messages}
    where ${messages.senderId} = ${userId} and ${messages.roomId} = ${roomMembers}.${sql.identifier("room_id")}), 0))::int`;

/**
 * A room and the viewer's membership of it: the first read of every room page, built once
 * rather than per request, like the history page's statement.
 */
const roomWithMembershipQuery = (db: Database) =>
  db
    .select({
      room: rooms,
      memberId: roomMembers.userId,
      lastReadSeq: readPosition(sql.placeholder("viewerId")),
      notificationLevel: roomMembers.notificationLevel,
      role: roomMembers.role,
    })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, sql.placeholder("viewerId"))))
    .where(eq(rooms.id, sql.placeholder("roomId")))
    .prepare("room_with_membership");

const membershipColumns = (userId: string) => ({
  roomId: roomMembers.roomId,
  lastReadSeq: readPosition(userId),
  notificationLevel: roomMembers.notificationLevel,
  role: roomMembers.role,
});

export interface Membership {
  roomId: string;
  lastReadSeq: number;
  /** What of the room notifies the member (features/notifications). */
  notificationLevel: string;
  /** OWNER, ADMIN or MEMBER (all MEMBER in a direct room, which has no roles). */
  role: string;
}

/** A member of a room with their role (Room.memberRoles). */
export interface RoomMemberRow {
  userId: string;
  role: RoomRole;
}

/** A member's read position in a room (read receipts). */
export interface ReadPositionRow {
  roomId: string;
  userId: string;
  lastReadSeq: number;
}

export class RoomsService {
  private readonly roomWithMembership: ReturnType<typeof roomWithMembershipQuery>;

  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
  ) {
    this.roomWithMembership = roomWithMembershipQuery(db);
  }

  async create(viewer: UserRow, input: { name: string; memberIds: readonly string[] }): Promise<RoomRow> {
    const valid = parseInput(createInput, input);
    const memberIds = [...new Set(valid.memberIds)].filter((id) => id !== viewer.id);
    const { roomId: id } = await this.commands.execute(
      createRoomCommand,
      { roomId: randomUUID(), name: valid.name, memberIds },
      viewer.id,
    );
    return this.requireMembership(viewer, id);
  }

  /** The 1:1 room of the viewer and `userId`, created the first time either asks. */
  async direct(viewer: UserRow, userId: string): Promise<RoomRow> {
    requireId(userId, "user");
    if (userId === viewer.id) throw badInput("a direct room is with someone else", "userId");
    const roomId = directRoomId(viewer.id, userId);
    await this.commands.execute(openDirectRoomCommand, { roomId, userId }, viewer.id);
    return this.requireMembership(viewer, roomId);
  }

  async leave(viewer: UserRow, id: string): Promise<boolean> {
    await this.requireMembership(viewer, id);
    await this.commands.execute(leaveRoomCommand, { roomId: id }, viewer.id);
    return true;
  }

  async removeMember(viewer: UserRow, input: { roomId: string; userId: string }): Promise<RoomRow> {
    const userId = requireId(input.userId, "user");
    const { room, role } = await memberOf(this.db, requireId(input.roomId, "room"), viewer.id);
    const [target] = await this.roles([room.id], [userId]);
    checkRemoveMember(room, { id: viewer.id, role }, { id: userId, role: target?.role ?? null });
    await this.commands.execute(removeMemberCommand, { roomId: room.id, userId }, viewer.id);
    return room;
  }

  /** The owner names an admin or a member, or hands the room over. */
  async setRole(viewer: UserRow, input: { roomId: string; userId: string; role: string }): Promise<RoomRow> {
    const userId = requireId(input.userId, "user");
    const role = parseInput(roomRole, input.role);
    const { room, role: mine } = await memberOf(this.db, requireId(input.roomId, "room"), viewer.id);
    checkSetRole(room, { id: viewer.id, role: mine }, userId);
    await this.commands.execute(setMemberRoleCommand, { roomId: room.id, userId, role }, viewer.id);
    return room;
  }

  /** The owner or an admin renames a group room. */
  async rename(viewer: UserRow, input: { roomId: string; name: string }): Promise<RoomRow> {
    const name = parseInput(roomName, input.name);
    const { room, role } = await memberOf(this.db, requireId(input.roomId, "room"), viewer.id);
    checkRename(room, role);
    await this.commands.execute(renameRoomCommand, { roomId: room.id, name }, viewer.id);
    return { ...room, name };
  }

  /** Members with their roles, per room (all of each room's members when `userIds` is not given). */
  async roles(
    roomIds: readonly string[],
    userIds?: readonly string[],
  ): Promise<Array<RoomMemberRow & { roomId: string }>> {
    const rows = await this.db
      .select({ roomId: roomMembers.roomId, userId: roomMembers.userId, role: roomMembers.role })
      .from(roomMembers)
      .where(
        and(anyOf(roomMembers.roomId, [...roomIds]), userIds ? anyOf(roomMembers.userId, [...userIds]) : undefined),
      )
      .orderBy(
        sql`array_position(array['OWNER','ADMIN','MEMBER'], ${roomMembers.role})`,
        roomMembers.joinedAt,
        roomMembers.userId,
      );
    return rows as Array<RoomMemberRow & { roomId: string }>;
  }

  async markRead(viewer: UserRow, input: { roomId: string; seq: number }): Promise<RoomRow> {
    const { seq } = parseInput(markReadInput, input);
    const room = await this.requireMembership(viewer, input.roomId);
    checkReadPosition(room, seq);
    await this.commands.execute(markReadCommand, { roomId: room.id, seq }, viewer.id);
    return room;
  }

  /** The viewer's rooms, most recently active first. */
  async list(viewer: UserRow, input: { first: number }): Promise<RoomRow[]> {
    const { first } = parseInput(listInput, input);
    const rows = await this.db
      .select({ room: rooms })
      .from(roomMembers)
      .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
      .where(eq(roomMembers.userId, viewer.id))
      .orderBy(desc(rooms.lastActivityAt), desc(rooms.id))
      .limit(first);
    return rows.map((r) => r.room);
  }

  /** The room, if it exists and the viewer belongs to it; NOT_FOUND or FORBIDDEN otherwise. */
  async requireMembership(viewer: UserRow, id: string): Promise<RoomRow> {
    return requireMember(this.db, requireId(id, "room"), viewer.id);
  }

  /** As requireMembership, with the viewer's read position: `room(id)` answers its fields' membership checks with it. */
  async withMembership(viewer: UserRow, id: string): Promise<{ room: RoomRow; membership: Membership }> {
    requireId(id, "room");
    const [row] = await this.roomWithMembership.execute({ viewerId: viewer.id, roomId: id });
    const refused = membershipError(id, row !== undefined, Boolean(row?.memberId));
    if (refused) throw refused;
    const { lastReadSeq, notificationLevel, role } = row!;
    return {
      room: row!.room,
      membership: { roomId: id, lastReadSeq, notificationLevel: notificationLevel!, role: role! },
    };
  }

  async byIds(ids: readonly string[]): Promise<RoomRow[]> {
    return this.db
      .select()
      .from(rooms)
      .where(anyOf(rooms.id, [...ids]));
  }

  /** Member user ids per room, in join order. */
  async memberIds(roomIds: readonly string[]): Promise<Map<string, string[]>> {
    const rows = await this.db
      .select({ roomId: roomMembers.roomId, userId: roomMembers.userId })
      .from(roomMembers)
      .where(anyOf(roomMembers.roomId, [...roomIds]))
      .orderBy(roomMembers.joinedAt, roomMembers.userId);
    return groupBy(
      rows,
      (r) => r.roomId,
      (r) => r.userId,
    );
  }

  /** The user's memberships among these rooms (absent: not a member). */
  async memberships(userId: string, roomIds: readonly string[]): Promise<Map<string, Membership>> {
    const rows = await this.db
      .select(membershipColumns(userId))
      .from(roomMembers)
      .where(and(eq(roomMembers.userId, userId), anyOf(roomMembers.roomId, [...roomIds])));
    return new Map(rows.map((r) => [r.roomId, r]));
  }

  /** All of the user's rooms with their read position (where a feed starts from). */
  async allMemberships(userId: string): Promise<Membership[]> {
    return this.db.select(membershipColumns(userId)).from(roomMembers).where(eq(roomMembers.userId, userId));
  }

  /** Every member's read position, per room. */
  async readPositions(roomIds: readonly string[]): Promise<Map<string, ReadPositionRow[]>> {
    const rows = await this.db
      .select({
        roomId: roomMembers.roomId,
        userId: roomMembers.userId,
        lastReadSeq: readPosition(sql`${roomMembers}.${sql.identifier("user_id")}`),
      })
      .from(roomMembers)
      .where(anyOf(roomMembers.roomId, [...roomIds]))
      .orderBy(roomMembers.joinedAt, roomMembers.userId);
    return groupBy(
      rows,
      (r) => r.roomId,
      (r) => r,
    );
  }

  /** The newest message of each room: an index lookup on (room_id, seq = last_seq). */
  async lastMessages(roomIds: readonly string[]): Promise<Map<string, MessageRow>> {
    const rows = await this.db
      .select({ message: messages })
      .from(rooms)
      .innerJoin(messages, and(eq(messages.roomId, rooms.id), eq(messages.seq, rooms.lastSeq)))
      .where(anyOf(rooms.id, [...roomIds]));
    return new Map(rows.map((r) => [r.message.roomId, r.message]));
  }

  /**
   * Messages from others after the user's read position, per room: seqs have no gaps and the
   * read position is never before the user's own newest message, so that is last seq minus
   * the read position, two index lookups per room.
   */
  async unreadCounts(userId: string, roomIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.db
      .select({
        roomId: roomMembers.roomId,
        unread: sql<number>`(${rooms.lastSeq} - ${readPosition(userId)})::int`,
      })
      .from(roomMembers)
      .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
      .where(and(eq(roomMembers.userId, userId), anyOf(roomMembers.roomId, [...roomIds])));
    return new Map(rows.map((r) => [r.roomId, r.unread]));
  }
}
