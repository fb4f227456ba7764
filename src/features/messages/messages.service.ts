import { and, desc, eq, isNull, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { anyOf } from "../../db/arrays.js";
import type { Database } from "../../db/client.js";
import { messages, rooms, type MessageRow, type UserRow } from "../../db/schema.js";
import { groupBy } from "../../shared/collections.js";
import type { CommandBus } from "../../commands/ports.js";
import type { EventBus } from "../../commands/ports.js";
import type { MessageAddedRecord, RoomEvent } from "../../commands/protocol.js";
import { isAfter, positionOf, type EventPosition, type Place } from "../../commands/positions.js";
import { decodeCursor } from "../live/cursor.js";
import type { FeedReplay } from "../live/replay.js";
import { AppError, notFound } from "../../shared/errors.js";
import { parseInput, requireId } from "../../shared/validation.js";
import { roomEventStream } from "../rooms/roomEvents.js";
import { deleteMessageCommand, editMessageCommand } from "./lifecycle.commands.js";
import { MessageStream } from "./messageStream.js";
import type { RoomsService } from "../rooms/rooms.service.js";
import type { BlocksService } from "../blocks/blocks.service.js";
import { sendMessageCommand } from "./messages.commands.js";
import { checkChangeable, checkDeletable, checkLive, clientMessageId, messageBody } from "./messages.rules.js";
import { memberOf } from "../rooms/membership.js";
import { moderates } from "../rooms/rooms.rules.js";

export const MAX_PAGE_SIZE = 100;

const sendInput = z.object({
  body: messageBody,
  clientMessageId: clientMessageId.nullish(),
});

/** The room's main timeline: replies are read in their threads. */
const topLevel = isNull(messages.parentId);

const editInput = z.object({ body: messageBody });

const pageInput = z.object({
  last: z.number().int().min(1, "must be at least 1").max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`),
  beforeSeq: z.number().int().min(1, "must be at least 1").nullish(),
});

const streamInput = z.object({ afterSeq: z.number().int().min(0, "must be 0 or more").nullish() });

/** The busiest read, built once rather than per request: about 0.25 of its 2.3 CPU-ms in the API. */
const historyPageQuery = (db: Database) =>
  db
    .select()
    .from(messages)
    .where(
      and(eq(messages.roomId, sql.placeholder("roomId")), lt(messages.seq, sql.placeholder("beforeSeq")), topLevel),
    )
    .orderBy(desc(messages.seq))
    .limit(sql.placeholder("last"))
    .prepare("history_page");

/** What `updates` streams: a changed message, or a reply whose thread's parent changed. */
export type MessageChange = MessageRow | MessageAddedRecord;

const messageChangeOf = (event: RoomEvent): MessageChange | null =>
  event.type === "MessageUpdated"
    ? event.message
    : event.type === "MessageAdded" && event.message.parentId
      ? event
      : null;

/** Whether a stored event comes after the last one seen (a replayed one arriving live again does not). */
function newerThanLast() {
  let last: Place | undefined;
  return (position: EventPosition | undefined) => {
    if (!position) return true;
    if (last !== undefined && !isAfter(position.place, last)) return false;
    last = position.place;
    return true;
  };
}

export interface PageRequest {
  roomId: string;
  last: number;
  beforeSeq: number;
}

export class MessagesService {
  private readonly historyPage: ReturnType<typeof historyPageQuery>;

  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
    private readonly events: EventBus,
    private readonly rooms: RoomsService,
    private readonly blocks: BlocksService,
    private readonly queueLimit: number,
    private readonly feed: { replay: FeedReplay; retentionHours: number },
  ) {
    this.historyPage = historyPageQuery(db);
  }

  async send(
    viewer: UserRow,
    input: {
      roomId: string;
      body: string;
      clientMessageId?: string | null;
      parentId?: string | null;
      quotedMessageId?: string | null;
    },
  ): Promise<MessageRow> {
    const valid = parseInput(sendInput, input);
    requireId(input.roomId, "room");
    for (const id of [input.parentId, input.quotedMessageId]) if (id != null) requireId(id, "message");
    // Membership, the thread's parent and the quoted message are checked by the worker, in the
    // transaction that stores the message: a check here would cost every message a round trip
    // and could be stale anyway.
    return this.commands.execute(
      sendMessageCommand,
      {
        roomId: input.roomId,
        body: valid.body,
        clientMessageId: valid.clientMessageId ?? null,
        parentId: input.parentId ?? null,
        quotedMessageId: input.quotedMessageId ?? null,
      },
      viewer.id,
    );
  }

  /** A room's page request, validated (BAD_USER_INPUT otherwise). */
  pageRequest(roomId: string, input: { last: number; beforeSeq?: number | null }): PageRequest {
    const { last, beforeSeq } = parseInput(pageInput, input);
    // No seq is above 2^31: "before the end" is before that.
    return { roomId, last, beforeSeq: beforeSeq ?? 2 ** 31 - 1 };
  }

  /**
   * Each request's newest `last` messages before `beforeSeq`, oldest first. Rooms asking for
   * the same page (a room list showing each room's latest messages) share one statement.
   */
  async pages(requests: readonly PageRequest[]): Promise<MessageRow[][]> {
    const key = (roomId: string, r: { last: number; beforeSeq: number }) => `${roomId}|${r.last}|${r.beforeSeq}`;
    const found = new Map<string, MessageRow[]>();
    const samePage = groupBy(
      requests,
      (r) => `${r.last}|${r.beforeSeq}`,
      (r) => r,
    );
    await Promise.all(
      [...samePage.values()].map(async (group) => {
        const { last, beforeSeq } = group[0]!;
        const roomIds = group.map((r) => r.roomId);
        const rows =
          roomIds.length === 1
            ? await this.historyPage.execute({ roomId: roomIds[0]!, beforeSeq, last })
            : await this.pagesOfRooms(roomIds, last, beforeSeq);
        const byRoom = groupBy(
          rows,
          (m) => m.roomId,
          (m) => m,
        );
        for (const [roomId, page] of byRoom)
          found.set(
            key(roomId, group[0]!),
            page.sort((x, y) => x.seq - y.seq),
          );
      }),
    );
    return requests.map((r) => found.get(key(r.roomId, r)) ?? []);
  }

  /** One lateral join: for each room, an index scan of its newest messages before `beforeSeq`. */
  private async pagesOfRooms(roomIds: string[], last: number, beforeSeq: number): Promise<MessageRow[]> {
    const page = this.db
      .select()
      .from(messages)
      .where(and(eq(messages.roomId, sql`${rooms}.${sql.identifier("id")}`), lt(messages.seq, beforeSeq), topLevel))
      .orderBy(desc(messages.seq))
      .limit(last)
      .as("page");
    const rows = await this.db.select().from(rooms).crossJoinLateral(page).where(anyOf(rooms.id, roomIds));
    return rows.map((r) => r.page);
  }

  async byIds(ids: readonly string[]): Promise<MessageRow[]> {
    return this.db
      .select()
      .from(messages)
      .where(anyOf(messages.id, [...ids]));
  }

  /** Your own message, changed: NOT_FOUND unless it exists (not deleted), FORBIDDEN unless it is yours. */
  async edit(viewer: UserRow, input: { messageId: string; body: string }): Promise<MessageRow> {
    const { body } = parseInput(editInput, input);
    const message = await this.ownMessage(viewer, input.messageId);
    return this.commands.execute(
      editMessageCommand,
      { roomId: message.roomId, messageId: message.id, body },
      viewer.id,
    );
  }

  /**
   * Your own message, or any of a room you moderate, as a tombstone: it keeps its seq, its
   * text, reactions and saved copies are gone, and it names who deleted it.
   */
  async delete(viewer: UserRow, messageId: string): Promise<MessageRow> {
    const message = await this.live(viewer, messageId);
    const { room, role } = await memberOf(this.db, message.roomId, viewer.id);
    checkDeletable(message, viewer.id, moderates(room, role));
    return this.commands.execute(deleteMessageCommand, { roomId: message.roomId, messageId: message.id }, viewer.id);
  }

  /**
   * A message of a room the viewer belongs to, not deleted (NOT_FOUND, FORBIDDEN otherwise):
   * the API's early answer before a command about it (the worker decides again).
   */
  async live(viewer: UserRow, messageId: string): Promise<MessageRow> {
    const [found] = await this.byIds([requireId(messageId, "message")]);
    const message = checkLive(found, messageId);
    await this.rooms.requireMembership(viewer, message.roomId);
    return message;
  }

  /** As `live`, deleted or not (a tombstone's thread stays readable). */
  async readable(viewer: UserRow, messageId: string): Promise<MessageRow> {
    const [found] = await this.byIds([requireId(messageId, "message")]);
    if (!found) throw notFound(`no message with id ${messageId}`);
    await this.rooms.requireMembership(viewer, found.roomId);
    return found;
  }

  private async ownMessage(viewer: UserRow, messageId: string): Promise<MessageRow> {
    const message = await this.live(viewer, messageId);
    checkChangeable(message, viewer.id);
    return message;
  }

  /**
   * Edits, deletions, reaction and thread changes of the room's messages, live; ends
   * FORBIDDEN when the viewer leaves. A reply is handed on as its event: its thread's parent
   * is what changed (its summary is counted when read), and is read only here, where someone
   * subscribed to it (see `changedMessage`). With `after` (a cursor of the viewer's feed),
   * the room's changes since are replayed first, then live ones, none twice.
   */
  async updates(
    viewer: UserRow,
    roomId: string,
    onOverflow?: () => void,
    after?: string | null,
  ): Promise<AsyncIterableIterator<MessageChange | AppError>> {
    const from = after == null ? null : decodeCursor(after, this.feed.retentionHours);
    await this.rooms.requireMembership(viewer, roomId);
    // Live first, so nothing committed while the replay is read is missed.
    const live = this.events.subscribeRoom(roomId, onOverflow);
    const since = new Date(Date.now() - this.feed.retentionHours * 3_600_000);
    const replayed = from ? await this.feed.replay.since(viewer.id, from.positions, since, [roomId]) : [];
    const isNew = newerThanLast();
    const out = roomEventStream<MessageChange>(live, {
      roomId,
      viewerId: viewer.id,
      limit: this.queueLimit,
      onEvent: (event, queue) => {
        const change = isNew(positionOf(event)) && messageChangeOf(event);
        if (change) queue.push(change);
      },
    });
    for (const { event, position } of replayed) {
      const change = isNew(position) && messageChangeOf(event);
      if (change) out.push(change);
    }
    return out;
  }

  /** The room's messages after `afterSeq` (if given) and then live ones: see MessageStream. */
  async stream(
    viewer: UserRow,
    roomId: string,
    input: { afterSeq?: number | null },
    onOverflow?: () => void,
  ): Promise<AsyncIterableIterator<MessageRow | AppError>> {
    const { afterSeq } = parseInput(streamInput, input);
    await this.rooms.requireMembership(viewer, roomId);
    const live = this.events.subscribeRoom(roomId, onOverflow);
    const blocked = await this.blocks.watch(viewer.id);
    return new MessageStream(this.db, roomId, viewer.id, afterSeq ?? null, live, blocked);
  }
}
