import { and, asc, desc, eq, gt, inArray, lt } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client.js";
import { messages, type MessageRow, type UserRow } from "../../db/schema.js";
import type { CommandBus } from "../../kafka/commandBus.js";
import type { EventBus } from "../../kafka/eventBus.js";
import { AppError, forbidden, notFound } from "../../errors.js";
import { parseInput } from "../../validation.js";
import type { RoomsService } from "../rooms/rooms.service.js";
import { MAX_BODY_LENGTH, MAX_CLIENT_MESSAGE_ID_LENGTH, sendMessageCommand } from "./messages.commands.js";

export const MAX_PAGE_SIZE = 100;

const sendInput = z.object({
  body: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(MAX_BODY_LENGTH, `must be at most ${MAX_BODY_LENGTH} characters`),
  clientMessageId: z
    .string()
    .min(1, "must not be empty")
    .max(MAX_CLIENT_MESSAGE_ID_LENGTH, `must be at most ${MAX_CLIENT_MESSAGE_ID_LENGTH} characters`)
    .nullish(),
});

const pageInput = z.object({
  last: z.number().int().min(1, "must be at least 1").max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`),
  beforeSeq: z.number().int().min(1, "must be at least 1").nullish(),
});

const roomIdFormat = z.uuid();

const streamInput = z.object({ afterSeq: z.number().int().min(0, "must be 0 or more").nullish() });

export class MessagesService {
  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
    private readonly events: EventBus,
    private readonly rooms: RoomsService,
  ) {}

  async send(
    viewer: UserRow,
    input: { roomId: string; body: string; clientMessageId?: string | null },
  ): Promise<MessageRow> {
    const valid = parseInput(sendInput, input);
    if (!roomIdFormat.safeParse(input.roomId).success) throw notFound(`no room with id ${input.roomId}`);
    // Membership is decided by the worker, in the transaction that stores the message: a
    // check here would cost every message a round trip and could be stale anyway.
    return this.commands.execute(
      sendMessageCommand,
      { roomId: input.roomId, body: valid.body, clientMessageId: valid.clientMessageId ?? null },
      viewer.id,
    );
  }

  /** The newest `last` messages before `beforeSeq` (or the end), oldest first. */
  async page(roomId: string, input: { last: number; beforeSeq?: number | null }): Promise<MessageRow[]> {
    const { last, beforeSeq } = parseInput(pageInput, input);
    const rows = await this.db
      .select()
      .from(messages)
      .where(beforeSeq ? and(eq(messages.roomId, roomId), lt(messages.seq, beforeSeq)) : eq(messages.roomId, roomId))
      .orderBy(desc(messages.seq))
      .limit(last);
    return rows.reverse();
  }

  async byIds(ids: readonly string[]): Promise<MessageRow[]> {
    return this.db
      .select()
      .from(messages)
      .where(inArray(messages.id, [...ids]));
  }

  private after(roomId: string, afterSeq: number, limit: number, beforeSeq?: number): Promise<MessageRow[]> {
    const range =
      beforeSeq === undefined
        ? gt(messages.seq, afterSeq)
        : and(gt(messages.seq, afterSeq), lt(messages.seq, beforeSeq));
    return this.db
      .select()
      .from(messages)
      .where(and(eq(messages.roomId, roomId), range))
      .orderBy(asc(messages.seq))
      .limit(limit);
  }

  /**
   * Stored messages with seq > afterSeq, then live ones, each seq exactly once and in
   * order. Live events are buffered from before the replay starts, so nothing falls
   * between the two; duplicates (redelivered events) are skipped and a gap in the live
   * stream is filled from the database. The stream ends with an AppError item (which the
   * resolver raises as that event's error) when the viewer leaves the room or falls too
   * far behind.
   */
  async stream(
    viewer: UserRow,
    roomId: string,
    input: { afterSeq?: number | null },
    onOverflow?: () => void,
  ): Promise<AsyncIterableIterator<MessageRow | AppError>> {
    const { afterSeq } = parseInput(streamInput, input);
    await this.rooms.requireMembership(viewer, roomId);
    const live = this.events.subscribeRoom(roomId, onOverflow);
    const self = this;

    async function* run(): AsyncGenerator<MessageRow | AppError> {
      let lastSeq = afterSeq ?? null;
      async function* catchUp(beforeSeq?: number) {
        for (;;) {
          const page = await self.after(roomId, lastSeq!, MAX_PAGE_SIZE, beforeSeq);
          for (const m of page) {
            lastSeq = m.seq;
            yield m;
          }
          if (page.length < MAX_PAGE_SIZE) return;
        }
      }
      try {
        if (lastSeq !== null) yield* catchUp();
        for await (const event of live) {
          if (event.type === "MemberLeft") {
            if (event.userId !== viewer.id) continue;
            yield forbidden(`you are no longer a member of room ${roomId}`);
            return;
          }
          const message = event.message;
          if (lastSeq !== null && message.seq <= lastSeq) continue;
          if (lastSeq !== null && message.seq > lastSeq + 1) yield* catchUp(message.seq);
          lastSeq = message.seq;
          yield message;
        }
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        yield error;
      } finally {
        await live.return?.();
      }
    }

    const generator = run();
    // An async generator parked in `await live.next()` cannot be returned until that
    // settles; ending `live` first releases it, so unsubscribing is immediate.
    const iterator: AsyncIterableIterator<MessageRow | AppError> = {
      next: () => generator.next(),
      return: async () => {
        await live.return?.();
        return generator.return(undefined);
      },
      throw: (error) => generator.throw(error),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
