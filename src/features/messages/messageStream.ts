import { and, asc, eq, gt, lt } from "drizzle-orm";
import type { RoomEvent } from "../../commands/protocol.js";
import type { Database } from "../../db/client.js";
import { messages, type MessageRow } from "../../db/schema.js";
import { AppError, forbidden } from "../../shared/errors.js";
import type { BlockedSet } from "../blocks/blocks.service.js";

/** Messages per database read while replaying stored messages. */
const REPLAY_PAGE_SIZE = 100;

type Item = MessageRow | AppError;
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
/** The live stream ended. */
const ENDED = Symbol("ended");

/**
 * One subscriber's messages of a room: stored messages with seq > afterSeq, then live ones,
 * each seq exactly once and in order. Live events are buffered (in `live`) from before the
 * replay starts, so nothing falls between the two; duplicates (redelivered events) are
 * skipped and a gap in the live stream is filled from the database, a page at a time. The
 * stream ends with an AppError item (which the resolver raises as that event's error) when
 * the viewer leaves the room or falls too far behind. Messages of senders the viewer blocked
 * are passed over (their seqs too).
 *
 * A class rather than an async generator: every idle subscription holds one for its whole
 * life, and a pair of suspended generators with their closures cost it about 1.5 KiB more.
 * It also returns at once while parked on a live event (a generator cannot be returned then).
 */
export class MessageStream implements AsyncIterableIterator<Item> {
  /** Stored messages read, not yet delivered. */
  private backlog: MessageRow[] = [];
  /** Set while replaying stored messages: up to a live message that arrived after a gap, or to the end. */
  private replay: { waiting?: MessageRow } | null;
  private ended = false;

  constructor(
    private readonly db: Database,
    private readonly roomId: string,
    private readonly viewerId: string,
    private lastSeq: number | null,
    private readonly live: AsyncIterableIterator<RoomEvent>,
    /** Senders whose messages this viewer does not get (those they blocked); released at the end. */
    private readonly hidden?: BlockedSet,
  ) {
    this.replay = lastSeq === null ? null : {};
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  // One async function, not one awaiting another: an idle subscription keeps this call
  // suspended on the live queue, and each suspended call holds a generator and its registers.
  async next(): Promise<IteratorResult<Item>> {
    if (this.ended) return DONE;
    try {
      for (;;) {
        const message =
          this.backlog.shift() ??
          (this.replay ? await this.readStored(this.replay) : this.accept(await this.live.next()));
        if (message === ENDED) return this.return();
        if (!message) continue;
        this.lastSeq = message.seq;
        if (!this.hidden?.has(message.senderId)) return { done: false, value: message };
      }
    } catch (error) {
      await this.return();
      if (error instanceof AppError) return { done: false, value: error };
      throw error;
    }
  }

  async return(): Promise<IteratorResult<Item>> {
    this.ended = true;
    this.backlog = [];
    this.replay = null;
    this.hidden?.release();
    await this.live.return?.();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<Item>> {
    await this.return();
    throw error;
  }

  /**
   * What a live event means here: the next message, nothing (a duplicate, another kind of
   * event: read on), or the end. A gap starts a replay up to the message (nothing for now).
   */
  private accept(item: IteratorResult<RoomEvent>): MessageRow | typeof ENDED | undefined {
    if (item.done) return ENDED;
    const event = item.value;
    if (event.type === "MemberLeft" && event.userId === this.viewerId)
      throw forbidden(`you are no longer a member of room ${this.roomId}`);
    if (event.type !== "MessageAdded") return undefined;
    const { message } = event;
    if (this.lastSeq !== null && message.seq <= this.lastSeq) return undefined;
    if (this.lastSeq !== null && message.seq > this.lastSeq + 1) {
      this.replay = { waiting: message };
      return undefined;
    }
    return message;
  }

  /**
   * Reads the next page of stored messages after the last delivered into the backlog, and the
   * waiting live message after the last page.
   */
  private async readStored({ waiting }: { waiting?: MessageRow }): Promise<undefined> {
    const range = waiting
      ? and(gt(messages.seq, this.lastSeq!), lt(messages.seq, waiting.seq))
      : gt(messages.seq, this.lastSeq!);
    this.backlog = await this.db
      .select()
      .from(messages)
      .where(and(eq(messages.roomId, this.roomId), range))
      .orderBy(asc(messages.seq))
      .limit(REPLAY_PAGE_SIZE);
    if (this.backlog.length < REPLAY_PAGE_SIZE) {
      this.replay = null;
      if (waiting) this.backlog.push(waiting);
    }
    return undefined;
  }
}
