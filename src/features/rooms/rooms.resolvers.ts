import type { Resolvers } from "../../graphql/generated/resolvers.js";
import { deletedUser } from "../users/users.service.js";

export const roomsResolvers: Resolvers = {
  Query: {
    room: (_, { id }, ctx) => ctx.services.rooms.requireMembership(ctx.requireViewer(), id),
  },
  Mutation: {
    createRoom: (_, args, ctx) => ctx.services.rooms.create(ctx.requireViewer(), args),
  },
  Room: {
    members: async (room, _, ctx) => {
      const ids = await ctx.loaders.memberIds.load(room.id);
      const users = await ctx.loaders.user.loadMany(ids);
      return users.map((u) => (u instanceof Error || !u ? deletedUser : u));
    },
  },
};
