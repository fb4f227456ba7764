import { isUuid } from "../../graphql/ids.js";
import { notFound } from "../../errors.js";
import type { Resolvers } from "../../graphql/generated/resolvers.js";

export const usersResolvers: Resolvers = {
  Query: {
    me: (_, __, ctx) => ctx.viewer,
    user: async (_, { id }, ctx) => {
      ctx.requireViewer();
      const user = isUuid(id) ? await ctx.loaders.user.load(id) : null;
      if (!user) throw notFound(`no user with id ${id}`);
      return user;
    },
    userByUsername: (_, { username }, ctx) => {
      ctx.requireViewer();
      return ctx.services.users.byUsername(username);
    },
  },
  Mutation: {
    signUp: (_, args, ctx) => ctx.services.users.signUp(args),
    logIn: (_, { username, password }, ctx) => ctx.services.users.logIn(username, password),
    logOut: (_, __, ctx) => ctx.services.users.logOut(ctx.requireViewer()),
    updateStatusMessage: (_, { statusMessage }, ctx) =>
      ctx.services.users.updateStatusMessage(ctx.requireViewer(), statusMessage),
    deleteAccount: (_, __, ctx) => ctx.services.users.deleteAccount(ctx.requireViewer()),
  },
  User: {
    // When someone was last here is theirs and their friends' to know, not every user's.
    lastLoginAt: async (user, _, ctx) => {
      if (!ctx.viewer) return null;
      if (user.id === ctx.viewer.id) return user.lastLoginAt;
      const friends = await ctx.loaders.friendIds.load(user.id);
      return friends.includes(ctx.viewer.id) ? user.lastLoginAt : null;
    },
  },
};
