import type { MessageRow } from "../../db/schema.js";
import { freshPerEvent, type GraphQLContext } from "../../graphql/context.js";
import type { Resolvers } from "../../graphql/generated/resolvers.js";
import { requireMyMembership } from "../rooms/rooms.resolvers.js";
import type { ReadPositionRow } from "../rooms/rooms.service.js";
import { activityVisible, userOrDeleted } from "../users/users.resolvers.js";
import type { FeedItem, FeedSubscriber } from "./feeds.js";

/** Each `myEvents` subscription's own state, for the fields that differ per subscriber (unreadCount). */
const feedOf = new WeakMap<GraphQLContext, FeedSubscriber>();

const TYPE_NAMES = {
  MessageAdded: "MessageAddedEvent",
  MessageUpdated: "MessageUpdatedEvent",
  RoomCreated: "RoomAddedEvent",
  MemberLeft: "MemberLeftEvent",
  ReadPositionMoved: "ReadPositionEvent",
  PresenceChanged: "PresenceEvent",
  Mentioned: "MentionedEvent",
  MemberRoleChanged: "MemberRoleEvent",
  RoomRenamed: "RoomRenamedEvent",
} as const;

/** Whether a feed item notifies the subscriber (decided when the feed routed it). */
const notifyOf = (item: object, ctx: GraphQLContext) => feedOf.get(ctx)?.notify.get(item) ?? false;

/** Where the subscriber resumes after this item (`myEvents(after:)`). */
const cursor = (item: object, _: unknown, ctx: GraphQLContext) => feedOf.get(ctx)!.cursorOf(item);

/** An event's room, while the viewer is a member of it (a room you left shows as null). */
const eventRoom = async ({ roomId }: { roomId: string }, _: unknown, ctx: GraphQLContext) =>
  (await ctx.loaders.myMembership.load(roomId)) ? ctx.loaders.room.load(roomId) : null;

export const liveResolvers: Resolvers = {
  Mutation: {
    setTyping: (_, { roomId, typing }, ctx) => ctx.services.live.typing.set(ctx.requireViewer(), roomId, typing),
  },
  Subscription: {
    myEvents: {
      subscribe: async (_, { after }, ctx) => {
        const subscriber = await ctx.services.live.feeds.subscribe(ctx.requireViewer().id, ctx.onSlowConsumer, after);
        feedOf.set(ctx, subscriber);
        // The feed routes only the events of rooms the user is in (see readableRoom).
        ctx.vouchedRoom = (roomId) => subscriber.rooms.has(roomId);
        return subscriber.queue;
      },
      resolve: (item: FeedItem, args: unknown, ctx: GraphQLContext) => freshPerEvent(item, args, ctx),
    },
    typing: {
      subscribe: (_, { roomId }, ctx) =>
        ctx.services.live.typing.stream(ctx.requireViewer(), roomId, ctx.onSlowConsumer),
      resolve: freshPerEvent,
    },
  },
  MyEvent: {
    __resolveType: (item) => TYPE_NAMES[(item as FeedItem).type as keyof typeof TYPE_NAMES],
  },
  MessageAddedEvent: {
    room: eventRoom,
    cursor,
    message: (event) => event.message as MessageRow,
    unreadCount: (event, _, ctx) => feedOf.get(ctx)?.unread.get(event) ?? ctx.loaders.myUnreadCount.load(event.roomId),
    notify: (event, _, ctx) => notifyOf(event, ctx),
  },
  MentionedEvent: {
    room: eventRoom,
    cursor,
    message: (item) => item.message as MessageRow,
    notify: (item, _, ctx) => notifyOf(item, ctx),
  },
  MessageUpdatedEvent: {
    room: eventRoom,
    cursor,
    message: (event) => event.message as MessageRow,
  },
  RoomAddedEvent: {
    room: eventRoom,
    cursor,
    addedBy: (event, _, ctx) => userOrDeleted(ctx, event.creatorId),
  },
  MemberLeftEvent: {
    room: eventRoom,
    cursor,
    user: (event, _, ctx) => userOrDeleted(ctx, event.userId),
    removedBy: (event, _, ctx) => (event.removedBy ? userOrDeleted(ctx, event.removedBy) : null),
  },
  MemberRoleEvent: {
    room: eventRoom,
    cursor,
    user: (event, _, ctx) => userOrDeleted(ctx, event.userId),
    changedBy: (event, _, ctx) => (event.changedBy ? userOrDeleted(ctx, event.changedBy) : null),
  },
  RoomRenamedEvent: {
    room: eventRoom,
    cursor,
    renamedBy: (event, _, ctx) => userOrDeleted(ctx, event.renamedBy),
  },
  ReadPositionEvent: {
    room: eventRoom,
    cursor,
    user: (event, _, ctx) => userOrDeleted(ctx, event.userId),
  },
  PresenceEvent: {
    cursor,
    user: (change, _, ctx) => userOrDeleted(ctx, change.userId),
  },
  TypingEvent: {
    user: (event, _, ctx) => userOrDeleted(ctx, event.userId),
  },
  ReadPosition: {
    user: (position, _, ctx) => userOrDeleted(ctx, position.userId),
  },
  Room: {
    readPositions: async (room, _, ctx) => {
      await requireMyMembership(room, ctx);
      return ctx.loaders
        .named("readPositions", async (roomIds: readonly string[]) => {
          const positions = await ctx.services.rooms.readPositions(roomIds);
          return roomIds.map((id): ReadPositionRow[] => positions.get(id) ?? []);
        })
        .load(room.id);
    },
  },
  User: {
    online: async (user, _, ctx) => (await activityVisible(user, ctx)) && ctx.services.live.presence.isOnline(user.id),
    lastSeenAt: async (user, _, ctx) =>
      (await activityVisible(user, ctx)) ? (ctx.services.live.presence.lastSeenAt(user.id) ?? user.lastSeenAt) : null,
  },
};
