import type { RoomRow } from "../../db/schema.js";
import { forbidden } from "../../shared/errors.js";
import type { GraphQLContext } from "../../graphql/context.js";
import type { Resolvers } from "../../graphql/generated/resolvers.js";
import { deletedUser } from "../users/users.service.js";
import { userOrDeleted } from "../users/users.resolvers.js";
import type { RoomRole } from "./rooms.rules.js";

/** The viewer's membership of a room reached through any path, or FORBIDDEN. */
export async function requireMyMembership(room: RoomRow, ctx: GraphQLContext) {
  ctx.requireViewer();
  const membership = await ctx.loaders.myMembership.load(room.id);
  if (!membership) throw forbidden(`you are not a member of room ${room.id}`);
  return membership;
}

/**
 * Asked by graphql-js before it completes any Room or Message (their types' `isTypeOf`), so a
 * room's data is the members' whichever field leads there: a saved message, a search hit, an
 * event, a message's room, or a field added later. Synchronous when the operation already
 * knows (a stream that vouches for its rooms, a membership read earlier); else one batched read.
 */
export function readableRoom(roomId: string, ctx: GraphQLContext): true | Promise<true> {
  if (ctx.vouchedRoom?.(roomId)) return true;
  const known = ctx.loaders.knownMembership(roomId);
  if (known === true) return true;
  ctx.requireViewer();
  const refuse = () => forbidden(`you are not a member of room ${roomId}`);
  if (known === false) throw refuse();
  return ctx.loaders.myMembership.load(roomId).then((membership) => {
    if (!membership) throw refuse();
    return true;
  });
}

/** `found`, having told the operation's loaders that the viewer is a member of its room(s). */
export async function vouched<T extends { id: string } | { roomId: string }>(
  ctx: GraphQLContext,
  found: Promise<T> | T,
): Promise<T> {
  const value = await found;
  ctx.loaders.vouchMembership("roomId" in value ? value.roomId : value.id);
  return value;
}

export const roomsResolvers: Resolvers = {
  Query: {
    rooms: async (_, { first }, ctx) => {
      const mine = await ctx.services.rooms.list(ctx.requireViewer(), { first: first ?? 100 });
      for (const room of mine) ctx.loaders.vouchMembership(room.id);
      return mine;
    },
    room: async (_, { id }, ctx) => {
      const { room, membership } = await ctx.services.rooms.withMembership(ctx.requireViewer(), id);
      ctx.loaders.primeMembership(room.id, membership);
      return room;
    },
  },
  Mutation: {
    // A room a command returns was just checked by the worker: no membership read to show it.
    createRoom: (_, args, ctx) => vouched(ctx, ctx.services.rooms.create(ctx.requireViewer(), args)),
    directRoom: (_, { userId }, ctx) => vouched(ctx, ctx.services.rooms.direct(ctx.requireViewer(), userId)),
    leaveRoom: (_, { roomId }, ctx) => ctx.services.rooms.leave(ctx.requireViewer(), roomId),
    removeMember: (_, args, ctx) => vouched(ctx, ctx.services.rooms.removeMember(ctx.requireViewer(), args)),
    markRead: (_, args, ctx) => vouched(ctx, ctx.services.rooms.markRead(ctx.requireViewer(), args)),
    setMemberRole: (_, args, ctx) => vouched(ctx, ctx.services.rooms.setRole(ctx.requireViewer(), args)),
    renameRoom: (_, args, ctx) => vouched(ctx, ctx.services.rooms.rename(ctx.requireViewer(), args)),
  },
  Room: {
    __isTypeOf: (room: RoomRow, ctx: GraphQLContext) => readableRoom(room.id, ctx),
    members: async (room, _, ctx) => {
      const ids = await ctx.loaders.memberIds.load(room.id);
      const users = await ctx.loaders.user.loadMany(ids);
      return users.map((u) => (u instanceof Error || !u ? deletedUser : u));
    },
    lastMessage: (room, _, ctx) => ctx.loaders.lastMessage.load(room.id),
    lastReadSeq: async (room, _, ctx) => (await requireMyMembership(room, ctx)).lastReadSeq,
    unreadCount: async (room, _, ctx) => {
      await requireMyMembership(room, ctx);
      return ctx.loaders.myUnreadCount.load(room.id);
    },
    myRole: async (room, _, ctx) => (room.isDirect ? null : ((await requireMyMembership(room, ctx)).role as RoomRole)),
    memberRoles: (room, _, ctx) =>
      room.isDirect
        ? []
        : ctx.loaders
            .named("memberRoles", async (roomIds: readonly string[]) => {
              const rows = await ctx.services.rooms.roles(roomIds);
              return roomIds.map((id) => rows.filter((r) => r.roomId === id));
            })
            .load(room.id),
  },
  RoomMember: {
    user: (member, _, ctx) => userOrDeleted(ctx, member.userId),
  },
};
