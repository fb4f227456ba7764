import type {
  MessageAddedRecord,
  MessageReportedRecord,
  NotificationLevelRecord,
  RoomEvent,
  TypingRecord,
} from "../../commands/protocol.js";
import {
  advanced,
  isAfter,
  merged,
  positionOf,
  type EventPosition,
  type Place,
  type Positions,
} from "../../commands/positions.js";
import type { BoundedQueue } from "../../shared/boundedQueue.js";
import type { BlockedSet } from "../blocks/blocks.service.js";
import { notifies } from "../notifications/notifications.rules.js";
import { encodeCursor } from "./cursor.js";
import type { PresenceChange } from "./presence.js";
import type { Replayed } from "./replay.js";

/** A message that mentions the feed's user (from MessageAdded, or MessageUpdated's `mentioned`). */
export interface MentionedItem {
  type: "Mentioned";
  roomId: string;
  message: MessageAddedRecord["message"];
}

/**
 * What a user's feed delivers: room events but typing (shared by all local members), level
 * changes (they change the feed itself) and reports (the moderation consumer's), mentions
 * and presence changes.
 */
export type FeedItem =
  Exclude<RoomEvent, TypingRecord | NotificationLevelRecord | MessageReportedRecord> | MentionedItem | PresenceChange;

/** Which rooms' events reach a subscriber: the feed's index, told as rooms come and go. */
export interface RoomIndex {
  join(subscriber: FeedSubscriber, roomId: string): void;
  leave(subscriber: FeedSubscriber, roomId: string): void;
}

/**
 * One open `myEvents` subscription: its user's rooms, read positions, levels and queue, and
 * where it stands in the feed's order. A resumed one holds live events back while it replays
 * what it missed, then lets them through, dropping those it replayed; afterwards a stored
 * event at or before the last one delivered from its partition is a redelivery, dropped too.
 */
export class FeedSubscriber {
  /** Room id -> the user's read position there. */
  readonly rooms = new Map<string, number>();
  /** Room id -> the user's notification level there, where not ALL. */
  readonly levels = new Map<string, string>();
  /** The user's unread count as of each MessageAdded delivered (the event is shared; this is not). */
  readonly unread = new WeakMap<object, number>();
  /** Whether each message or mention delivered notifies the user. */
  readonly notify = new WeakMap<object, boolean>();
  /** The positions each item was delivered at: its cursor. */
  private readonly at = new WeakMap<object, Positions>();
  private readonly delivered = new Map<number, Place>();
  /** What a resumed feed started from and replayed: its cursors never fall below. */
  private floor: Positions = new Map();
  private held: Array<{ event: RoomEvent; at: Positions }> | null = null;
  /** Senders the user blocked: their messages are left out. */
  blocked: BlockedSet | null = null;

  constructor(
    readonly userId: string,
    readonly queue: BoundedQueue<FeedItem>,
    private readonly index: RoomIndex,
  ) {}

  /** Holds live events back until `resume` has replayed what came before them. */
  hold() {
    this.held = [];
  }

  /** Delivers what was missed after `from`, then the live events held meanwhile. */
  resume(from: Positions, replayed: Replayed[]) {
    this.floor = from;
    // The client has everything up to its cursor: live events up to there are repeats too.
    for (const [partition, place] of from) this.delivered.set(partition, place);
    for (const { event, position } of replayed) {
      this.isRepeat(position);
      this.floor = advanced(this.floor, position);
      this.apply(event, this.floor);
    }
    const held = this.held ?? [];
    this.held = null;
    for (const { event, at } of held) this.take(event, at);
  }

  /** A live room event for this subscriber; `at`: the feed's positions once it was read. */
  take(event: RoomEvent, at: Positions) {
    if (this.held) return void this.held.push({ event, at });
    const position = positionOf(event);
    if (position && this.isRepeat(position)) return;
    // A resumed feed's cursors stay at or past where it resumed (this process may lag behind it).
    this.apply(event, this.floor.size > 0 ? merged(this.floor, at) : at);
  }

  push(item: FeedItem, at: Positions) {
    this.at.set(item, at);
    this.queue.push(item);
  }

  /** Where a client resumes after `item`. */
  cursorOf(item: object): string {
    return encodeCursor(this.at.get(item) ?? this.floor);
  }

  /** Whether a stored event was delivered already; if not, it now counts as delivered. */
  private isRepeat({ partition, place }: EventPosition): boolean {
    const last = this.delivered.get(partition);
    if (last !== undefined && !isAfter(place, last)) return true;
    this.delivered.set(partition, place);
    return false;
  }

  private apply(event: RoomEvent, at: Positions) {
    switch (event.type) {
      case "MessageAdded":
        return this.message(event, at);
      case "MessageUpdated":
        this.push(event, at);
        if (event.mentioned?.includes(this.userId)) this.mention(event, at);
        return;
      case "NotificationLevelChanged":
        if (event.userId === this.userId) this.levels.set(event.roomId, event.level);
        return;
      case "RoomCreated":
        this.index.join(this, event.roomId);
        if (event.creatorId !== this.userId) this.push(event, at);
        return;
      case "MemberLeft":
        this.push(event, at);
        if (event.userId === this.userId) this.index.leave(this, event.roomId);
        return;
      case "MemberRoleChanged":
      case "RoomRenamed":
        return this.push(event, at);
      case "ReadPositionMoved":
        if (event.userId === this.userId) this.readUpTo(event.roomId, event.lastReadSeq);
        this.push(event, at);
        return;
      case "Typing":
      case "MessageReported":
        return; // typing is a stream of its own (typing(roomId)); reports are the moderators'
    }
  }

  /** A new message, with the user's unread count and notify; then a mention of them, if it is one. */
  private message(event: MessageAddedRecord, at: Positions) {
    const { seq, senderId, mentionIds } = event.message;
    if (this.blocked?.has(senderId)) return;
    const fromViewer = senderId === this.userId;
    // Sending moves one's own read position to the message (rooms.service readPosition).
    if (fromViewer) this.readUpTo(event.roomId, seq);
    this.unread.set(event, Math.max(0, seq - (this.rooms.get(event.roomId) ?? 0)));
    const mentionsViewer = mentionIds.includes(this.userId);
    const level = this.levels.get(event.roomId) ?? "ALL";
    this.notify.set(event, notifies(level, { kind: "message", fromViewer, mentionsViewer }));
    this.push(event, at);
    if (mentionsViewer) this.mention(event, at);
  }

  private mention({ roomId, message }: Pick<MessageAddedRecord, "roomId" | "message">, at: Positions) {
    const item: MentionedItem = { type: "Mentioned", roomId, message };
    this.notify.set(item, notifies(this.levels.get(roomId) ?? "ALL", { kind: "mention" }));
    this.push(item, at);
  }

  private readUpTo(roomId: string, seq: number) {
    if (this.rooms.has(roomId)) this.rooms.set(roomId, Math.max(this.rooms.get(roomId)!, seq));
  }
}
