import { randomUUID } from "node:crypto";
import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client.js";
import { roomMembers, rooms, type RoomRow, type UserRow } from "../../db/schema.js";
import { forbidden, notFound } from "../../errors.js";
import type { CommandBus } from "../../kafka/commandBus.js";
import { parseInput } from "../../validation.js";
import { createRoomCommand } from "./rooms.commands.js";

const createRoomInput = z.object({
  name: z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters"),
  memberIds: z.array(z.uuid("must be user ids")).max(99, "may name at most 99 other users"),
});

export class RoomsService {
  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
  ) {}

  async create(viewer: UserRow, input: { name: string; memberIds: readonly string[] }): Promise<RoomRow> {
    const valid = parseInput(createRoomInput, input);
    const memberIds = [...new Set([viewer.id, ...valid.memberIds])];
    const { roomId } = await this.commands.execute(
      createRoomCommand,
      { roomId: randomUUID(), name: valid.name, memberIds },
      viewer.id,
    );
    return this.requireMembership(viewer, roomId);
  }

  /** The room, if it exists and the viewer belongs to it; NOT_FOUND or FORBIDDEN otherwise. */
  async requireMembership(viewer: UserRow, roomId: string): Promise<RoomRow> {
    if (!z.uuid().safeParse(roomId).success) throw notFound(`no room with id ${roomId}`);
    const [row] = await this.db
      .select({ room: rooms, memberId: roomMembers.userId })
      .from(rooms)
      .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, viewer.id)))
      .where(eq(rooms.id, roomId));
    if (!row) throw notFound(`no room with id ${roomId}`);
    if (!row.memberId) throw forbidden(`you are not a member of room ${roomId}`);
    return row.room;
  }

  async byIds(ids: readonly string[]): Promise<RoomRow[]> {
    return this.db.select().from(rooms).where(inArray(rooms.id, [...ids]));
  }

  /** Member user ids per room, in join order. */
  async memberIds(roomIds: readonly string[]): Promise<Map<string, string[]>> {
    const rows = await this.db
      .select({ roomId: roomMembers.roomId, userId: roomMembers.userId })
      .from(roomMembers)
      .where(inArray(roomMembers.roomId, [...roomIds]))
      .orderBy(roomMembers.joinedAt, roomMembers.userId);
    const byRoom = new Map<string, string[]>();
    for (const r of rows) byRoom.set(r.roomId, [...(byRoom.get(r.roomId) ?? []), r.userId]);
    return byRoom;
  }
}
