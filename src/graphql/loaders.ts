import DataLoader from "dataloader";
import type { MessageRow, RoomRow, UserRow } from "../db/schema.js";
import type { Membership } from "../features/rooms/rooms.service.js";
import type { Services } from "./services.js";

const byKey = <K, V>(keys: readonly K[], map: Map<K, V>, fallback: V) => keys.map((k) => map.get(k) ?? fallback);

/**
 * Batching caches for one operation (or one subscription event); never shared, so one
 * user's view never leaks into another's. Viewer-specific loaders are keyed by room id.
 */
export function createLoaders(services: Services, viewerId: string | null): Loaders {
  // Built on first use: a subscription gets fresh loaders per event, and most events only
  // touch one or two of them.
  const cache: Partial<Loaders> = {};
  const factories = loaderFactories(services, viewerId);
  return new Proxy(cache as Loaders, {
    get: (target, name) =>
      name in factories ? (target[name as keyof Loaders] ??= factories[name as keyof Loaders]() as never) : undefined,
  });
}

function loaderFactories(services: Services, viewerId: string | null) {
  const noViewer = () => Promise.reject(new Error("viewer-specific loader used without a viewer"));
  return {
    user: () =>
      new DataLoader<string, UserRow | null>(async (ids) => {
        const rows = await services.users.byIds(ids);
        return byKey(ids, new Map(rows.map((r) => [r.id, r])), null);
      }),
    room: () =>
      new DataLoader<string, RoomRow | null>(async (ids) => {
        const rows = await services.rooms.byIds(ids);
        return byKey(ids, new Map(rows.map((r) => [r.id, r])), null);
      }),
    memberIds: () =>
      new DataLoader<string, string[]>(async (roomIds) => byKey(roomIds, await services.rooms.memberIds(roomIds), [])),
    friendIds: () =>
      new DataLoader<string, string[]>(async (userIds) =>
        byKey(userIds, await services.friends.friendIds(userIds), []),
      ),
    lastMessage: () =>
      new DataLoader<string, MessageRow | null>(async (roomIds) =>
        byKey(roomIds, await services.rooms.lastMessages(roomIds), null),
      ),
    myMembership: () =>
      new DataLoader<string, Membership | null>(async (roomIds) =>
        viewerId ? byKey(roomIds, await services.rooms.memberships(viewerId, roomIds), null) : noViewer(),
      ),
    myUnreadCount: () =>
      new DataLoader<string, number>(async (roomIds) =>
        viewerId ? byKey(roomIds, await services.rooms.unreadCounts(viewerId, roomIds), 0) : noViewer(),
      ),
    message: () =>
      new DataLoader<string, MessageRow | null>(async (ids) => {
        const rows = await services.messages.byIds(ids);
        return byKey(ids, new Map(rows.map((r) => [r.id, r])), null);
      }),
  };
}

export type Loaders = {
  [K in keyof ReturnType<typeof loaderFactories>]: ReturnType<ReturnType<typeof loaderFactories>[K]>;
};
