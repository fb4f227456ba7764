import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { CommandBus } from "../../commands/ports.js";
import { rowsOf, type Database } from "../../db/client.js";
import { messages, threadReads, type MessageRow, type UserRow } from "../../db/schema.js";
import { parseInput } from "../../shared/validation.js";
import { checkThreadParent } from "../messages/messages.rules.js";
import type { MessagesService } from "../messages/messages.service.js";
import { markThreadReadCommand } from "./threads.commands.js";
import { z } from "zod";

/** A thread's summary, counted when read from its replies (index messages_thread_idx). */
export interface ThreadSummary {
  replyCount: number;
  lastReplyAt: Date | null;
  /** Up to PARTICIPANTS_SHOWN repliers, the most recent first. */
  participantIds: string[];
}

const PARTICIPANTS_SHOWN = 3;
const NO_REPLIES: ThreadSummary = { replyCount: 0, lastReplyAt: null, participantIds: [] };

export class ThreadsService {
  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
    private readonly messages: MessagesService,
  ) {}

  /** A top-level message of a room the viewer belongs to (NOT_FOUND, FORBIDDEN, BAD_USER_INPUT otherwise). */
  async parent(viewer: UserRow, parentId: string): Promise<MessageRow> {
    return checkThreadParent(await this.messages.readable(viewer, parentId));
  }

  /** A page of the thread's replies, as `Room.messages` pages the timeline. */
  async replies(viewer: UserRow, parentId: string, page: { last: number; beforeSeq?: number | null }) {
    const parent = await this.parent(viewer, parentId);
    const { last, beforeSeq } = this.messages.pageRequest(parent.roomId, page);
    const rows = await this.db
      .select()
      .from(messages)
      .where(and(eq(messages.parentId, parent.id), lt(messages.seq, beforeSeq)))
      .orderBy(desc(messages.seq))
      .limit(last);
    return rows.reverse();
  }

  async markRead(viewer: UserRow, input: { parentId: string; seq: number }): Promise<MessageRow> {
    const { seq } = parseInput(z.object({ seq: z.number().int().min(0, "must be 0 or more") }), input);
    const parent = await this.parent(viewer, input.parentId);
    return this.commands.execute(markThreadReadCommand, { roomId: parent.roomId, parentId: parent.id, seq }, viewer.id);
  }

  /** Each parent's summary, in one statement for all of them. */
  async summaries(parentIds: readonly string[]): Promise<ThreadSummary[]> {
    const rows = rowsOf<{ parent_id: string; reply_count: number; last_reply_at: string; participant_ids: string[] }>(
      await this.db.execute(sql`
        select p.id as parent_id, t.reply_count, t.last_reply_at, t.participant_ids
        from unnest(${sql.param([...parentIds])}::uuid[]) as p(id) cross join lateral (
          select count(*)::int as reply_count, max(r.created_at) as last_reply_at,
            (select array_agg(s.sender_id order by s.last desc) from (
              select sender_id, max(seq) as last from ${messages}
              where parent_id = p.id and sender_id is not null
              group by sender_id order by last desc limit ${PARTICIPANTS_SHOWN}) s) as participant_ids
          from ${messages} r where r.parent_id = p.id
        ) t where t.reply_count > 0`),
    );
    const byParent = new Map(
      rows.map((r) => [
        r.parent_id,
        {
          replyCount: r.reply_count,
          lastReplyAt: messages.createdAt.mapFromDriverValue(r.last_reply_at) as Date,
          participantIds: r.participant_ids ?? [],
        },
      ]),
    );
    return parentIds.map((id) => byParent.get(id) ?? NO_REPLIES);
  }

  /**
   * The viewer's unread replies in each thread they take part in (they sent its parent,
   * replied, or marked it read): replies from others, not deleted, after their read position,
   * which is where markThreadRead put it or their own newest reply if later. 0 elsewhere.
   */
  async unreadReplies(viewerId: string, parentIds: readonly string[]): Promise<number[]> {
    const rows = rowsOf<{ parent_id: string; unread: number }>(
      await this.db.execute(sql`
        select p.id as parent_id, (
          select count(*)::int from ${messages} r
          where r.parent_id = p.id and r.deleted_at is null and r.sender_id is distinct from ${viewerId}
            and r.seq > greatest(coalesce(tr.last_read_seq, 0), coalesce(own.seq, 0))
        ) as unread
        from ${messages} p
          left join ${threadReads} tr on tr.parent_id = p.id and tr.user_id = ${viewerId}
          left join lateral (
            select max(seq) as seq from ${messages} o where o.parent_id = p.id and o.sender_id = ${viewerId}
          ) own on true
        where p.id = any(${sql.param([...parentIds])}::uuid[])
          and (p.sender_id = ${viewerId} or tr.user_id is not null or own.seq is not null)`),
    );
    const byParent = new Map(rows.map((r) => [r.parent_id, r.unread]));
    return parentIds.map((id) => byParent.get(id) ?? 0);
  }
}
