import { BoundedQueue } from "../../shared/boundedQueue.js";
import type { EventBus } from "../../commands/ports.js";
import type { MessageAddedRecord, NotificationLevelRecord, RoomEvent, TypingRecord } from "../../commands/protocol.js";
import { AppError } from "../../shared/errors.js";
import type { FriendsService } from "../friends/friends.service.js";
import type { RoomsService } from "../rooms/rooms.service.js";
import { notifies } from "../notifications/notifications.rules.js";
import type { PresenceChange } from "./presence.js";

/** A message that mentions the feed's user (from MessageAdded, or MessageUpdated's `mentioned`). */
export interface MentionedItem {
  type: "Mentioned";
  roomId: string;
  message: MessageAddedRecord["message"];
}

/**
 * What a user's feed delivers: room events but typing (shared by all local members) and
 * level changes (they change the feed itself), mentions and presence changes.
 */
export type FeedItem = Exclude<RoomEvent, TypingRecord | NotificationLevelRecord> | MentionedItem | PresenceChange;

const NOBODY: ReadonlySet<never> = new Set();

/** One open `myEvents` subscription: its user's rooms, read positions, levels and queue. */
export class FeedSubscriber {
  /** Room id -> the user's read position there. */
  readonly rooms = new Map<string, number>();
  /** Room id -> the user's notification level there, where not ALL. */
  readonly levels = new Map<string, string>();
  /** The user's unread count as of each MessageAdded delivered (the event is shared; this is not). */
  readonly unread = new WeakMap<object, number>();
  /** Whether each message or mention delivered notifies the user. */
  readonly notify = new WeakMap<object, boolean>();

  constructor(
    readonly userId: string,
    readonly queue: BoundedQueue<FeedItem>,
  ) {}
}

/**
 * Routes events to the `myEvents` subscribers of this API process: one event on Kafka per
 * room event, decoded once here and handed to this process's connected members of that room
 * only (rooms nobody here follows are passed over before decoding). Each subscriber's rooms
 * and read positions are read once when it subscribes and kept current by the events
 * themselves (rooms created, members leaving, read positions moving, its own messages).
 */
export class Feeds {
  private readonly byRoom = new Map<string, Set<FeedSubscriber>>();
  private readonly byUser = new Map<string, Set<FeedSubscriber>>();

  constructor(
    events: EventBus,
    private readonly rooms: RoomsService,
    private readonly friends: FriendsService,
    private readonly queueLimit: number,
  ) {
    events.onRoomEvents(
      (roomId, type) => this.byRoom.has(roomId) || (type === "RoomCreated" && this.byUser.size > 0),
      (event) => this.route(event),
    );
  }

  /**
   * Registered before the user's rooms are read, so a room created meanwhile is not missed;
   * events of their existing rooms in the moment before the read are, which is why a client
   * queries `rooms` after subscribing (docs/api.md: myEvents).
   */
  async subscribe(userId: string, onOverflow?: () => void): Promise<FeedSubscriber> {
    const queue = new BoundedQueue<FeedItem>(
      this.queueLimit,
      () => {
        onOverflow?.();
        return new AppError("SERVICE_UNAVAILABLE", "your feed fell too far behind; subscribe again and re-query rooms");
      },
      () => this.remove(subscriber),
    );
    const subscriber = new FeedSubscriber(userId, queue);
    add(this.byUser, userId, subscriber);
    for (const { roomId, lastReadSeq, notificationLevel } of await this.rooms.allMemberships(userId)) {
      if (subscriber.rooms.has(roomId)) continue;
      this.join(subscriber, roomId, lastReadSeq);
      if (notificationLevel !== "ALL") subscriber.levels.set(roomId, notificationLevel);
    }
    return subscriber;
  }

  /** A presence change reaches those the user added as friends (who may see it, as lastLoginAt). */
  async announce(change: PresenceChange): Promise<void> {
    if (this.byUser.size === 0) return; // nobody here to tell: no friend list to read
    const [watchers = []] = (await this.friends.friendIds([change.userId])).values();
    for (const watcher of watchers)
      for (const subscriber of this.byUser.get(watcher) ?? []) subscriber.queue.push(change);
  }

  private route(event: RoomEvent) {
    // Not copied: a Set may lose its current member while iterated (MemberLeft below).
    const members: ReadonlySet<FeedSubscriber> = this.byRoom.get(event.roomId) ?? NOBODY;
    switch (event.type) {
      case "MessageAdded":
        for (const subscriber of members) deliverMessage(subscriber, event);
        return;
      case "MessageUpdated":
        for (const subscriber of members) {
          subscriber.queue.push(event);
          if (event.mentioned?.includes(subscriber.userId)) deliverMention(subscriber, event);
        }
        return;
      case "NotificationLevelChanged":
        for (const subscriber of members)
          if (subscriber.userId === event.userId) subscriber.levels.set(event.roomId, event.level);
        return;
      case "RoomCreated":
        for (const memberId of event.memberIds)
          for (const subscriber of this.byUser.get(memberId) ?? []) {
            this.join(subscriber, event.roomId, 0);
            if (memberId !== event.creatorId) subscriber.queue.push(event);
          }
        return;
      case "MemberLeft":
        for (const subscriber of members) {
          subscriber.queue.push(event);
          if (subscriber.userId === event.userId) this.leave(subscriber, event.roomId);
        }
        return;
      case "ReadPositionMoved":
        for (const subscriber of members) {
          if (subscriber.userId === event.userId)
            subscriber.rooms.set(event.roomId, Math.max(subscriber.rooms.get(event.roomId) ?? 0, event.lastReadSeq));
          subscriber.queue.push(event);
        }
        return;
      case "Typing":
        return; // a stream of its own (typing(roomId))
    }
  }

  private join(subscriber: FeedSubscriber, roomId: string, lastReadSeq: number) {
    subscriber.rooms.set(roomId, lastReadSeq);
    add(this.byRoom, roomId, subscriber);
  }

  private leave(subscriber: FeedSubscriber, roomId: string) {
    subscriber.rooms.delete(roomId);
    subscriber.levels.delete(roomId);
    remove(this.byRoom, roomId, subscriber);
  }

  private remove(subscriber: FeedSubscriber) {
    for (const roomId of subscriber.rooms.keys()) remove(this.byRoom, roomId, subscriber);
    remove(this.byUser, subscriber.userId, subscriber);
  }
}

/** A new message, with the subscriber's unread count and notify; then a mention of them, if it is one. */
function deliverMessage(subscriber: FeedSubscriber, event: MessageAddedRecord) {
  const { seq, senderId, mentionIds } = event.message;
  const fromViewer = senderId === subscriber.userId;
  // Sending moves one's own read position to the message (rooms.service readPosition).
  if (fromViewer) subscriber.rooms.set(event.roomId, seq);
  subscriber.unread.set(event, Math.max(0, seq - (subscriber.rooms.get(event.roomId) ?? 0)));
  const mentionsViewer = mentionIds.includes(subscriber.userId);
  const level = subscriber.levels.get(event.roomId) ?? "ALL";
  subscriber.notify.set(event, notifies(level, { kind: "message", fromViewer, mentionsViewer }));
  subscriber.queue.push(event);
  if (mentionsViewer) deliverMention(subscriber, event);
}

function deliverMention(
  subscriber: FeedSubscriber,
  { roomId, message }: Pick<MessageAddedRecord, "roomId" | "message">,
) {
  const item: MentionedItem = { type: "Mentioned", roomId, message };
  subscriber.notify.set(item, notifies(subscriber.levels.get(roomId) ?? "ALL", { kind: "mention" }));
  subscriber.queue.push(item);
}

function add<K, V>(index: Map<K, Set<V>>, key: K, value: V) {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function remove<K, V>(index: Map<K, Set<V>>, key: K, value: V) {
  const set = index.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}
