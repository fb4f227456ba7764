import { BoundedQueue } from "../../shared/boundedQueue.js";
import type { EventBus } from "../../commands/ports.js";
import type { RoomEvent } from "../../commands/protocol.js";
import { AppError } from "../../shared/errors.js";
import type { BlocksService } from "../blocks/blocks.service.js";
import type { FriendsService } from "../friends/friends.service.js";
import type { RoomsService } from "../rooms/rooms.service.js";
import { decodeCursor } from "./cursor.js";
import { FeedSubscriber, type FeedItem, type RoomIndex } from "./feedSubscriber.js";
import type { PresenceChange } from "./presence.js";
import type { FeedReplay } from "./replay.js";

export type { FeedItem, MentionedItem } from "./feedSubscriber.js";
export { FeedSubscriber } from "./feedSubscriber.js";

export interface FeedOptions {
  queueLimit: number;
  /** How long a cursor stays good (FEED_RETENTION_HOURS). */
  retentionHours: number;
}

/**
 * Routes events to the `myEvents` subscribers of this API process: one event on Kafka per
 * room event, decoded once here and handed to this process's connected members of that room
 * only (rooms nobody here follows are passed over before decoding). Each subscriber's rooms
 * and read positions are read once when it subscribes and kept current by the events
 * themselves (rooms created, members leaving, read positions moving, its own messages).
 */
export class Feeds implements RoomIndex {
  private readonly byRoom = new Map<string, Set<FeedSubscriber>>();
  private readonly byUser = new Map<string, Set<FeedSubscriber>>();

  constructor(
    private readonly events: EventBus,
    private readonly rooms: RoomsService,
    private readonly friends: FriendsService,
    private readonly blocks: BlocksService,
    private readonly replay: FeedReplay,
    private readonly options: FeedOptions,
  ) {
    events.onRoomEvents(
      (roomId, type) => this.byRoom.has(roomId) || (type === "RoomCreated" && this.byUser.size > 0),
      (event) => this.route(event),
    );
  }

  /**
   * Registered before the user's rooms are read, so a room created meanwhile is not missed.
   * With `after` (a cursor of this feed), what the user missed since is replayed first, then
   * live events follow with no gap and no repeat; without it, events of their rooms in the
   * moment before the read are missed, which is why such a client queries `rooms` after
   * subscribing (docs/api.md: myEvents).
   */
  async subscribe(userId: string, onOverflow?: () => void, after?: string | null): Promise<FeedSubscriber> {
    const from = after == null ? null : decodeCursor(after, this.options.retentionHours);
    const queue = new BoundedQueue<FeedItem>(
      this.options.queueLimit,
      () => {
        onOverflow?.();
        return new AppError(
          "SERVICE_UNAVAILABLE",
          "your feed fell too far behind; subscribe again with your last cursor",
        );
      },
      () => this.remove(subscriber),
    );
    const subscriber = new FeedSubscriber(userId, queue, this);
    if (from) subscriber.hold();
    add(this.byUser, userId, subscriber);
    try {
      subscriber.blocked = await this.blocks.watch(userId);
      for (const { roomId, lastReadSeq, notificationLevel } of await this.rooms.allMemberships(userId)) {
        if (subscriber.rooms.has(roomId)) continue;
        subscriber.rooms.set(roomId, lastReadSeq);
        this.join(subscriber, roomId);
        if (notificationLevel !== "ALL") subscriber.levels.set(roomId, notificationLevel);
      }
      if (from) {
        const since = new Date(Date.now() - this.options.retentionHours * 3_600_000);
        subscriber.resume(
          from.positions,
          await this.replay.since(userId, from.positions, since, [...subscriber.rooms.keys()]),
        );
      }
    } catch (error) {
      this.remove(subscriber);
      throw error;
    }
    return subscriber;
  }

  /** A presence change reaches those the user added as friends (who may see it, as lastLoginAt). */
  async announce(change: PresenceChange): Promise<void> {
    if (this.byUser.size === 0) return; // nobody here to tell: no friend list to read
    const [watchers = []] = (await this.friends.friendIds([change.userId])).values();
    for (const watcher of watchers)
      for (const subscriber of this.byUser.get(watcher) ?? []) subscriber.push(change, this.events.positions);
  }

  join(subscriber: FeedSubscriber, roomId: string) {
    if (!subscriber.rooms.has(roomId)) subscriber.rooms.set(roomId, 0);
    add(this.byRoom, roomId, subscriber);
  }

  leave(subscriber: FeedSubscriber, roomId: string) {
    subscriber.rooms.delete(roomId);
    subscriber.levels.delete(roomId);
    remove(this.byRoom, roomId, subscriber);
  }

  private route(event: RoomEvent) {
    if (event.type === "Typing") return; // a stream of its own (typing(roomId))
    const at = this.events.positions;
    if (event.type === "RoomCreated") {
      for (const memberId of event.memberIds)
        for (const subscriber of this.byUser.get(memberId) ?? []) subscriber.take(event, at);
      return;
    }
    // Not copied: a Set may lose its current member while iterated (MemberLeft).
    for (const subscriber of this.byRoom.get(event.roomId) ?? []) subscriber.take(event, at);
  }

  private remove(subscriber: FeedSubscriber) {
    subscriber.blocked?.release();
    for (const roomId of subscriber.rooms.keys()) remove(this.byRoom, roomId, subscriber);
    remove(this.byUser, subscriber.userId, subscriber);
  }
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
