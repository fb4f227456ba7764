import { and, desc, eq, getTableColumns, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client.js";
import { messages, roomMembers, savedMessages, type SavedMessageRow, type UserRow } from "../../db/schema.js";
import type { CommandBus } from "../../commands/ports.js";
import { encodeTimeCursor, timeCursor } from "../../shared/cursor.js";
import { parseInput, requireId } from "../../shared/validation.js";
import { saveMessageCommand, unsaveMessageCommand } from "./saved.commands.js";

export const MAX_SAVED_PAGE = 100;

export const encodeCursor = (row: SavedMessageRow) => encodeTimeCursor(row.savedAt, row.messageId);

const pageInput = z.object({
  first: z.number().int().min(1, "must be at least 1").max(MAX_SAVED_PAGE, `must be at most ${MAX_SAVED_PAGE}`),
  after: timeCursor.nullish(),
});

export class SavedService {
  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
  ) {}

  async save(viewer: UserRow, messageId: string): Promise<SavedMessageRow> {
    requireId(messageId, "message");
    const { savedAt } = await this.commands.execute(saveMessageCommand, { messageId }, viewer.id);
    return { userId: viewer.id, messageId, savedAt };
  }

  async unsave(viewer: UserRow, messageId: string): Promise<boolean> {
    requireId(messageId, "message");
    const { removed } = await this.commands.execute(unsaveMessageCommand, { messageId }, viewer.id);
    return removed;
  }

  /**
   * Newest first; `after` continues from a cursor of the previous page. Only messages of rooms
   * the viewer is still in: a copy saved while a leave was being applied is not a way back in.
   */
  async list(viewer: UserRow, input: { first: number; after?: string | null }): Promise<SavedMessageRow[]> {
    const { first, after } = parseInput(pageInput, input);
    const mine = eq(savedMessages.userId, viewer.id);
    return this.db
      .select(getTableColumns(savedMessages))
      .from(savedMessages)
      .innerJoin(messages, eq(messages.id, savedMessages.messageId))
      .innerJoin(roomMembers, and(eq(roomMembers.roomId, messages.roomId), eq(roomMembers.userId, viewer.id)))
      .where(
        after
          ? and(
              mine,
              sql`(${savedMessages.savedAt}, ${savedMessages.messageId}) < (${after.time.toISOString()}::timestamptz, ${after.id}::uuid)`,
            )
          : mine,
      )
      .orderBy(desc(savedMessages.savedAt), desc(savedMessages.messageId))
      .limit(first);
  }
}
