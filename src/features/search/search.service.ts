import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client.js";
import { databaseErrorCode } from "../../db/errors.js";
import { messages, roomMembers, type MessageRow, type UserRow } from "../../db/schema.js";
import { badInput } from "../../errors.js";
import { typedText } from "../../text.js";
import { parseInput, requireId } from "../../validation.js";
import type { RoomsService } from "../rooms/rooms.service.js";

export const MAX_SEARCH_PAGE = 100;
const SEARCH_TIMEOUT_MS = 3000;
/** SQLSTATE of a statement cancelled by statement_timeout. */
const QUERY_CANCELED = "57014";

const searchInput = z.object({
  query: typedText({ min: 1, max: 200 }),
  first: z.number().int().min(1, "must be at least 1").max(MAX_SEARCH_PAGE, `must be at most ${MAX_SEARCH_PAGE}`),
});

/** The expression messages_search_idx indexes: queries must use it as written for the index to serve them. */
const document = sql`to_tsvector('simple', ${messages.body})`;

export class SearchService {
  constructor(
    private readonly db: Database,
    private readonly rooms: RoomsService,
  ) {}

  async search(
    viewer: UserRow,
    input: { query: string; roomId?: string | null; first: number; after?: string | null },
  ): Promise<MessageRow[]> {
    const { query, first } = parseInput(searchInput, input);
    const inRooms = input.roomId
      ? eq(messages.roomId, (await this.rooms.requireMembership(viewer, input.roomId)).id)
      : sql`${messages.roomId} in (select ${roomMembers.roomId} from ${roomMembers} where ${roomMembers.userId} = ${viewer.id})`;
    const conditions = [sql`${document} @@ plainto_tsquery('simple', ${query})`, inRooms, isNull(messages.deletedAt)];
    if (input.after) {
      const [last] = await this.db
        .select({ createdAt: messages.createdAt, id: messages.id })
        .from(messages)
        .where(eq(messages.id, requireId(input.after, "message")));
      if (!last) throw badInput("after must be the id of the last message of the previous page", "after");
      conditions.push(
        or(
          lt(messages.createdAt, last.createdAt),
          and(eq(messages.createdAt, last.createdAt), lt(messages.id, last.id)),
        )!,
      );
    }
    // A word in most of a huge room's messages makes PostgreSQL sort them all: one user's
    // search must not hold the database for everyone, so it gets SEARCH_TIMEOUT_MS.
    try {
      return await this.db.transaction(async (tx) => {
        await tx.execute(sql.raw(`set local statement_timeout = ${SEARCH_TIMEOUT_MS}`));
        return tx
          .select()
          .from(messages)
          .where(and(...conditions))
          .orderBy(desc(messages.createdAt), desc(messages.id))
          .limit(first);
      });
    } catch (error) {
      if (databaseErrorCode(error) !== QUERY_CANCELED) throw error;
      throw badInput(`the search took longer than ${SEARCH_TIMEOUT_MS} ms; add words, or search one room`, "query");
    }
  }
}
