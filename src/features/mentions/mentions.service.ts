import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { anyOf } from "../../db/arrays.js";
import type { Database } from "../../db/client.js";
import { messages, roomMembers, rooms, type MessageRow, type UserRow } from "../../db/schema.js";
import { timeCursor } from "../../shared/cursor.js";
import { parseInput } from "../../shared/validation.js";
import { readPosition } from "../rooms/rooms.service.js";

export const MAX_MENTIONS_PAGE = 100;

const pageInput = z.object({
  first: z.number().int().min(1, "must be at least 1").max(MAX_MENTIONS_PAGE, `must be at most ${MAX_MENTIONS_PAGE}`),
  after: timeCursor.nullish(),
});

/** Messages mentioning the user: the partial GIN index messages_mentions_idx serves this. */
const mentioning = (userId: string) =>
  sql`cardinality(${messages.mentionIds}) > 0 and ${messages.mentionIds} @> array[${userId}]::uuid[]`;

export class MentionsService {
  constructor(private readonly db: Database) {}

  /** Newest first, in rooms the viewer is in now, deleted messages left out (they mention nobody). */
  async list(viewer: UserRow, input: { first: number; after?: string | null }): Promise<MessageRow[]> {
    const { first, after } = parseInput(pageInput, input);
    const before = after
      ? sql`(${messages.createdAt}, ${messages.id}) < (${after.time.toISOString()}::timestamptz, ${after.id}::uuid)`
      : undefined;
    const rows = await this.db
      .select({ message: messages })
      .from(messages)
      .innerJoin(roomMembers, and(eq(roomMembers.roomId, messages.roomId), eq(roomMembers.userId, viewer.id)))
      .where(and(mentioning(viewer.id), isNull(messages.deletedAt), before))
      .orderBy(desc(messages.createdAt), desc(messages.id))
      .limit(first);
    return rows.map((r) => r.message);
  }

  /** Per room: messages after the user's read position that mention them. */
  async unreadCounts(userId: string, roomIds: readonly string[]): Promise<number[]> {
    const rows = await this.db
      .select({
        roomId: roomMembers.roomId,
        count: sql<number>`(select count(*) from ${messages}
          where ${messages.roomId} = ${rooms.id} and ${messages.seq} > ${readPosition(userId)}
            and ${mentioning(userId)})::int`,
      })
      .from(roomMembers)
      .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
      .where(and(eq(roomMembers.userId, userId), anyOf(roomMembers.roomId, [...roomIds])));
    const byRoom = new Map(rows.map((r) => [r.roomId, r.count]));
    return roomIds.map((id) => byRoom.get(id) ?? 0);
  }
}
