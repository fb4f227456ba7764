import type { UserRow } from "../../db/schema.js";
import { forbidden } from "../../shared/errors.js";
import type { GraphQLContext } from "../../graphql/context.js";
import type { Resolvers } from "../../graphql/generated/resolvers.js";

async function usersByIds(ctx: GraphQLContext, ids: string[]): Promise<UserRow[]> {
  const users = await ctx.loaders.user.loadMany(ids);
  return users.filter((u): u is UserRow => !!u && !(u instanceof Error));
}

export const friendsResolvers: Resolvers = {
  User: {
    friends: async (user, _, ctx) => {
      if (ctx.requireViewer().id !== user.id) throw forbidden("you can only list your own friends");
      return usersByIds(ctx, await ctx.loaders.friendIds.load(user.id));
    },
  },
  Mutation: {
    addFriends: async (_, { userIds }, ctx) =>
      usersByIds(ctx, await ctx.services.friends.add(ctx.requireViewer(), userIds)),
    removeFriend: (_, { userId }, ctx) => ctx.services.friends.remove(ctx.requireViewer(), userId),
  },
};
