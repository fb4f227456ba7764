/**
 * What a resumed feed missed: the stored room events after a cursor's positions, read from
 * where the workers committed them (messages for MessageAdded, command_log for the rest), so
 * nothing depends on a consumer catching up. Within a partition of commands their order is
 * the positions'; partitions are merged by commit time.
 */
import { sql } from "drizzle-orm";
import { rowsOf, type Database } from "../../db/client.js";
import { commandLog, messageColumns, messages, roomDepartures, rooms } from "../../db/schema.js";
import { isAfter, type EventPosition, type Place, type Positions } from "../../commands/positions.js";
import { roomEvent, type RoomEvent } from "../../commands/protocol.js";
import type { EventBus } from "../../commands/ports.js";
import { AppError } from "../../shared/errors.js";
import { unnestAs } from "../../db/arrays.js";

export interface Replayed {
  event: RoomEvent;
  position: EventPosition;
}

interface Stored extends Replayed {
  at: Date;
}

/** Before any command of a partition. */
const START: Place = [-1, 0];

export class FeedReplay {
  constructor(
    private readonly db: Database,
    private readonly events: Pick<EventBus, "commandPartitionOf">,
    private readonly limit: number,
  ) {}

  /**
   * The viewer's missed events after `from`, in order: those of `roomIds` (their rooms now)
   * and of rooms they left since `since` (the retention's start), up to their departure.
   * CURSOR_EXPIRED when there are more than the limit (re-reading is cheaper).
   */
  async since(viewerId: string, from: Positions, since: Date, roomIds: readonly string[]): Promise<Replayed[]> {
    const departed = await this.departedRooms(viewerId, since, roomIds);
    const rooms = [...roomIds, ...departed].map((roomId) => {
      const partition = this.events.commandPartitionOf(roomId);
      return { roomId, partition, bound: from.get(partition) ?? START };
    });
    const stored = [
      ...(await this.messagesAfter(rooms)),
      ...(await this.changesAfter(rooms)),
      ...(await this.multiRoomChanges(from, new Set(rooms.map((r) => r.roomId)))),
    ].filter(({ position }) => isAfter(position.place, from.get(position.partition) ?? START));
    if (stored.length > this.limit)
      throw new AppError(
        "CURSOR_EXPIRED",
        `after: more than ${this.limit} changes since this cursor; read current state again and subscribe without it`,
      );
    stored.sort(byCommitOrder);
    return untilDeparture(stored, viewerId, new Set(departed));
  }

  private async departedRooms(viewerId: string, since: Date, current: readonly string[]) {
    const rows = await this.db
      .selectDistinct({ roomId: roomDepartures.roomId })
      .from(roomDepartures)
      .where(sql`${roomDepartures.userId} = ${viewerId} and ${roomDepartures.departedAt} >= ${since.toISOString()}`);
    const now = new Set(current);
    return rows.map((r) => r.roomId).filter((id) => !now.has(id));
  }

  /**
   * New messages: each room's after the newest one at or before its bound (seq and position
   * rise together in a room), looking back at most `limit` + 1 messages: finding none there
   * means more than the limit are new.
   */
  private async messagesAfter(scope: Array<{ roomId: string; bound: Place; partition: number }>): Promise<Stored[]> {
    const window = this.limit + 1;
    const input = unnestAs("b", scope, { room_id: ["uuid", (r) => r.roomId], bound: ["bigint", (r) => r.bound[0]] });
    const result = await this.db.execute(sql`
      select m.id from ${input}
        join ${rooms} r on r.id = b.room_id
        cross join lateral (
          select coalesce((
            select x.seq from ${messages} x
            where x.room_id = b.room_id and x.seq > r.last_seq - ${window} and coalesce(x.position, -1) <= b.bound
            order by x.seq desc limit 1), r.last_seq - ${window}) as after_seq
        ) f
        join ${messages} m on m.room_id = b.room_id and m.seq > f.after_seq`);
    const ids = rowsOf<{ id: string }>(result).map((r) => r.id);
    if (ids.length === 0) return [];
    const found = await this.db
      .select({ ...messageColumns, position: messages.position })
      .from(messages)
      .where(sql`${messages.id} = any(${sql.param(ids)}::uuid[])`);
    const partitionOf = new Map(scope.map((r) => [r.roomId, r.partition]));
    return found.map(({ position, ...message }) => ({
      event: { type: "MessageAdded" as const, roomId: message.roomId, message },
      position: { partition: partitionOf.get(message.roomId)!, place: [position ?? -1, 0] as Place },
      at: message.createdAt,
    }));
  }

  /** Other changes of the rooms (edits, deletions, reactions, membership, read positions, ...). */
  private async changesAfter(rooms: Array<{ roomId: string; bound: Place }>): Promise<Stored[]> {
    const input = unnestAs("b", rooms, { room_id: ["uuid", (r) => r.roomId], bound: ["bigint", (r) => r.bound[0]] });
    const rows = await this.db.execute(sql`
      select c.partition, c.log_offset, c.events, c.applied_at from ${input}
        join ${commandLog} c on c.room_id = b.room_id and c.log_offset >= b.bound`);
    return rowsOf<LogRow>(rows).flatMap((row) => storedEvents(row, () => true));
  }

  /** Changes of commands about several rooms (an account deleted), kept where they concern `rooms`. */
  private async multiRoomChanges(from: Positions, rooms: ReadonlySet<string>): Promise<Stored[]> {
    const bounds = unnestAs("b", [...from], { partition: ["int", ([p]) => p], bound: ["bigint", ([, [o]]) => o] });
    const rows = await this.db.execute(sql`
      select c.partition, c.log_offset, c.events, c.applied_at from ${commandLog} c
        left join ${bounds} on b.partition = c.partition
      where c.room_id is null and c.room_events and c.log_offset >= coalesce(b.bound, -1)`);
    return rowsOf<LogRow>(rows).flatMap((row) => storedEvents(row, (event) => rooms.has(event.roomId)));
  }
}

interface LogRow {
  partition: number;
  log_offset: string | number;
  events: unknown[];
  applied_at: string | Date;
}

/** A command_log row's room events that `keep` keeps, with their positions. */
function storedEvents(row: LogRow, keep: (event: RoomEvent) => boolean): Stored[] {
  const at = new Date(row.applied_at);
  return row.events.flatMap((raw, index) => {
    const parsed = roomEvent.safeParse(raw);
    if (!parsed.success || !keep(parsed.data)) return [];
    const position = { partition: row.partition, place: [Number(row.log_offset), index] as Place };
    return [{ event: parsed.data, position, at }];
  });
}

/** Commit order: by time across partitions, by position within one (ties in a millisecond). */
function byCommitOrder(a: Stored, b: Stored) {
  const time = a.at.getTime() - b.at.getTime();
  if (a.position.partition !== b.position.partition) return time || a.position.partition - b.position.partition;
  return isAfter(a.position.place, b.position.place) ? 1 : isAfter(b.position.place, a.position.place) ? -1 : 0;
}

/** A room the viewer left shows up to their departure (their MemberLeft), nothing after. */
function untilDeparture(stored: Stored[], viewerId: string, departed: ReadonlySet<string>): Replayed[] {
  const gone = new Set<string>();
  return stored.flatMap(({ event, position }) => {
    if (gone.has(event.roomId)) return [];
    if (departed.has(event.roomId) && event.type === "MemberLeft" && event.userId === viewerId) gone.add(event.roomId);
    return [{ event, position }];
  });
}
