import DataLoader from "dataloader";
import type { MessageRow, RoomRow, UserRow } from "../db/schema.js";
import type { PageRequest } from "../features/messages/messages.service.js";
import type { Membership } from "../features/rooms/rooms.service.js";
import type { Services } from "../features/module.js";

const byKey = <K, V>(keys: readonly K[], map: Map<K, V>, fallback: V) => keys.map((k) => map.get(k) ?? fallback);
const byId = <T extends { id: string }>(ids: readonly string[], rows: T[]) =>
  byKey(ids, new Map(rows.map((r) => [r.id, r])), null);

/**
 * Batching caches for one operation (or one subscription event); never shared, so one
 * user's view never leaks into another's. Viewer-specific loaders are keyed by room id.
 * Each is built on first use: a subscription holds a `Loaders` for its whole life and most
 * events touch one or two of them, so an idle subscription costs one small object here.
 */
export class Loaders {
  constructor(
    private readonly services: Services,
    private readonly viewerId: string | null,
  ) {}

  #user?: DataLoader<string, UserRow | null>;
  get user() {
    return (this.#user ??= new DataLoader(async (ids) => byId(ids, await this.services.users.byIds(ids))));
  }

  #room?: DataLoader<string, RoomRow | null>;
  get room() {
    return (this.#room ??= new DataLoader(async (ids) => byId(ids, await this.services.rooms.byIds(ids))));
  }

  #message?: DataLoader<string, MessageRow | null>;
  get message() {
    return (this.#message ??= new DataLoader(async (ids) => byId(ids, await this.services.messages.byIds(ids))));
  }

  #messagePage?: DataLoader<PageRequest, MessageRow[], string>;
  get messagePage() {
    return (this.#messagePage ??= new DataLoader((requests) => this.services.messages.pages(requests), {
      cacheKeyFn: (r) => `${r.roomId}|${r.last}|${r.beforeSeq}`,
    }));
  }

  #memberIds?: DataLoader<string, string[]>;
  get memberIds() {
    return (this.#memberIds ??= new DataLoader(async (roomIds) =>
      byKey(roomIds, await this.services.rooms.memberIds(roomIds), []),
    ));
  }

  #friendIds?: DataLoader<string, string[]>;
  get friendIds() {
    return (this.#friendIds ??= new DataLoader(async (userIds) =>
      byKey(userIds, await this.services.friends.friendIds(userIds), []),
    ));
  }

  #lastMessage?: DataLoader<string, MessageRow | null>;
  get lastMessage() {
    return (this.#lastMessage ??= new DataLoader(async (roomIds) =>
      byKey(roomIds, await this.services.rooms.lastMessages(roomIds), null),
    ));
  }

  #myMembership?: DataLoader<string, Membership | null>;
  /** Made when first needed: every open subscription keeps a context, and most never need it. */
  #knownMembership?: Map<string, boolean>;
  get myMembership() {
    return (this.#myMembership ??= new DataLoader(async (roomIds) => {
      const found = byKey(roomIds, await this.services.rooms.memberships(this.requireViewerId(), roomIds), null);
      roomIds.forEach((id, i) => this.known().set(id, found[i] !== null));
      return found;
    }));
  }

  /** Records a membership read elsewhere in this operation. */
  primeMembership(roomId: string, membership: Membership | null) {
    this.myMembership.prime(roomId, membership);
    this.known().set(roomId, membership !== null);
  }

  /**
   * The viewer is a member of the room, as what returned it established: a command the worker
   * applied as a member (sendMessage, createRoom, ...), or a list of the viewer's own rooms.
   */
  vouchMembership(roomId: string) {
    this.known().set(roomId, true);
  }

  /** Whether the viewer is a member of the room, when this operation has already read it. */
  knownMembership(roomId: string): boolean | undefined {
    return this.#knownMembership?.get(roomId);
  }

  private known() {
    return (this.#knownMembership ??= new Map());
  }

  #myUnreadCount?: DataLoader<string, number>;
  get myUnreadCount() {
    return (this.#myUnreadCount ??= new DataLoader(async (roomIds) =>
      byKey(roomIds, await this.services.rooms.unreadCounts(this.requireViewerId(), roomIds), 0),
    ));
  }

  #named?: Map<string, DataLoader<unknown, unknown>>;
  /**
   * A feature's own loader, built on first use like the others, so a feature adds loaders
   * without touching this class. `batch` also gets the viewer's id (null when signed out).
   */
  named<K, V>(name: string, batch: (keys: readonly K[], viewerId: string | null) => Promise<V[]>): DataLoader<K, V> {
    this.#named ??= new Map();
    let loader = this.#named.get(name) as DataLoader<K, V> | undefined;
    if (!loader) {
      loader = new DataLoader<K, V>((keys) => batch(keys, this.viewerId));
      this.#named.set(name, loader as DataLoader<unknown, unknown>);
    }
    return loader;
  }

  private requireViewerId(): string {
    if (!this.viewerId) throw new Error("viewer-specific loader used without a viewer");
    return this.viewerId;
  }
}
