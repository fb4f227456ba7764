import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import { z } from "zod";
import { Counts } from "../../shared/collections.js";
import { anyOf } from "../../db/arrays.js";
import { rowsOf, type Database } from "../../db/client.js";
import { databaseFailure } from "../../db/errors.js";
import { messages, roomMembers, type MessageRow, type UserRow } from "../../db/schema.js";
import { AppError, badInput } from "../../shared/errors.js";
import { typedText } from "../../shared/text.js";
import { parseInput, requireId } from "../../shared/validation.js";
import type { RoomsService } from "../rooms/rooms.service.js";

export const MAX_SEARCH_PAGE = 100;
const SEARCH_TIMEOUT_MS = 3000;

const searchInput = z.object({
  query: typedText({ min: 1, max: 200 }),
  first: z.number().int().min(1, "must be at least 1").max(MAX_SEARCH_PAGE, `must be at most ${MAX_SEARCH_PAGE}`),
});

/** The expression messages_search_idx indexes: queries must use it as written for the index to serve them. */
const document = sql`to_tsvector('simple', ${messages.body})`;

/**
 * Searches running at once, per user and in this process: each holds a pool connection and
 * a database core up to its timeout, so one user's sixty searches would hold everyone's reads.
 * Past either, TOO_MANY_REQUESTS at once rather than a queue that keeps the user's work waiting.
 */
class SearchSlots {
  private readonly byUser = new Counts<string>();
  private total = 0;

  constructor(private readonly limits: { perUser: number; perProcess: number }) {}

  async run<T>(userId: string, search: () => Promise<T>): Promise<T> {
    const mine = this.byUser.get(userId);
    if (mine >= this.limits.perUser)
      throw busy(`you have ${mine} searches running (limit ${this.limits.perUser}); wait for them`, "searchesPerUser");
    if (this.total >= this.limits.perProcess)
      throw busy("the server is running as many searches as it may; retry in a moment", "searchesPerProcess");
    this.byUser.increment(userId);
    this.total++;
    try {
      return await search();
    } finally {
      this.total--;
      this.byUser.decrement(userId);
    }
  }
}

const busy = (message: string, limit: string) =>
  new AppError("TOO_MANY_REQUESTS", message, { limit, retryAfterSeconds: 1 });

export class SearchService {
  private readonly slots: SearchSlots;

  constructor(
    private readonly db: Database,
    private readonly rooms: RoomsService,
    concurrency: { perUser: number; perProcess: number },
  ) {
    this.slots = new SearchSlots(concurrency);
  }

  search(
    viewer: UserRow,
    input: { query: string; roomId?: string | null; first: number; after?: string | null },
  ): Promise<MessageRow[]> {
    return this.slots.run(viewer.id, () => this.searchNow(viewer, input));
  }

  private async searchNow(
    viewer: UserRow,
    input: { query: string; roomId?: string | null; first: number; after?: string | null },
  ): Promise<MessageRow[]> {
    const { query, first } = parseInput(searchInput, input);
    const room = input.roomId ? (await this.rooms.requireMembership(viewer, input.roomId)).id : null;
    // Deleted messages have no text; hidden ones (pending review) show none.
    const conditions = [
      sql`${document} @@ plainto_tsquery('simple', ${query})`,
      isNull(messages.deletedAt),
      isNull(messages.hiddenAt),
    ];
    if (input.after) {
      // Only among the viewer's rooms: a foreign message's id answers as an unknown one does.
      const [last] = await this.db
        .select({ createdAt: messages.createdAt, id: messages.id })
        .from(messages)
        .innerJoin(roomMembers, and(eq(roomMembers.roomId, messages.roomId), eq(roomMembers.userId, viewer.id)))
        .where(eq(messages.id, requireId(input.after, "message")));
      if (!last) throw badInput("after must be the id of the last message of the previous page", "after");
      conditions.push(
        or(
          lt(messages.createdAt, last.createdAt),
          and(eq(messages.createdAt, last.createdAt), lt(messages.id, last.id)),
        )!,
      );
    }
    try {
      return await this.db.transaction(async (tx) => {
        const rooms = await searchScope(tx, viewer, room);
        if (rooms.length === 0) return [];
        return tx
          .select()
          .from(messages)
          .where(and(...conditions, anyOf(messages.roomId, rooms)))
          .orderBy(desc(messages.createdAt), desc(messages.id))
          .limit(first);
      });
    } catch (error) {
      if (databaseFailure(error).kind !== "canceled") throw error;
      throw badInput(`the search took longer than ${SEARCH_TIMEOUT_MS} ms; add words, or search one room`, "query");
    }
  }
}

/**
 * Prepares the search's transaction and returns the rooms it may read (`room`, or all of the
 * viewer's), in one round trip.
 *
 * The search names its rooms as values, with custom plans, because rooms differ in size by
 * orders of magnitude (a busy room of millions of messages beside direct rooms of ten). Given
 * a subquery or a prepared statement's generic plan, PostgreSQL must take each room for an
 * average one; taking a big room for a small one, it reads the whole room to check the word
 * on every message, or intersects the word's index entries with the room's, instead of
 * reading the word's few hits and keeping those in the rooms (bench scenario 8, whose big
 * rooms sit among 20,000 small ones: p50 52 ms against 2.6 ms). Knowing the rooms, it knows
 * their sizes.
 *
 * A word in most of a huge room's messages still makes PostgreSQL sort them all: one user's
 * search must not hold the database for everyone, so it gets SEARCH_TIMEOUT_MS.
 */
async function searchScope(tx: Database, viewer: UserRow, room: string | null): Promise<string[]> {
  const rooms = room
    ? sql`array[${room}::uuid]`
    : sql`array(select ${roomMembers.roomId} from ${roomMembers} where ${roomMembers.userId} = ${viewer.id})`;
  const [scope] = rowsOf<{ rooms: string[] }>(
    await tx.execute(sql`select set_config('statement_timeout', ${String(SEARCH_TIMEOUT_MS)}, true),
      set_config('plan_cache_mode', 'force_custom_plan', true), ${rooms}::text[] as rooms`),
  );
  return scope!.rooms;
}
