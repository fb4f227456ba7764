import { and, desc, eq, getTableColumns, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client.js";
import { messages, roomMembers, savedMessages, type SavedMessageRow, type UserRow } from "../../db/schema.js";
import type { CommandBus } from "../../commands/ports.js";
import { parseInput, requireId } from "../../shared/validation.js";
import { saveMessageCommand, unsaveMessageCommand } from "./saved.commands.js";

export const MAX_SAVED_PAGE = 100;

/** Opaque to clients: the (savedAt, messageId) position of one saved message. */
export const encodeCursor = (row: SavedMessageRow) =>
  Buffer.from(`${row.savedAt.toISOString()}|${row.messageId}`).toString("base64url");

const cursor = z.string().transform((value, ctx) => {
  const [time, messageId] = Buffer.from(value, "base64url").toString("utf8").split("|");
  const savedAt = new Date(time ?? "");
  // Only what encodeCursor writes: a time PostgreSQL can hold, written back the same way.
  const wellFormed = !Number.isNaN(savedAt.getTime()) && savedAt.toISOString() === time && /^\d{4}-/.test(time);
  if (!wellFormed || !z.uuid().safeParse(messageId).success) {
    ctx.addIssue({ code: "custom", message: "is not a cursor this API returned" });
    return z.NEVER;
  }
  return { savedAt, messageId: messageId! };
});

const pageInput = z.object({
  first: z.number().int().min(1, "must be at least 1").max(MAX_SAVED_PAGE, `must be at most ${MAX_SAVED_PAGE}`),
  after: cursor.nullish(),
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
              sql`(${savedMessages.savedAt}, ${savedMessages.messageId}) < (${after.savedAt.toISOString()}::timestamptz, ${after.messageId}::uuid)`,
            )
          : mine,
      )
      .orderBy(desc(savedMessages.savedAt), desc(savedMessages.messageId))
      .limit(first);
  }
}
