import type { Resolvers } from "../../graphql/generated/resolvers.js";

export const usersResolvers: Resolvers = {
  Query: {
    me: (_, __, ctx) => ctx.viewer,
    user: (_, { id }, ctx) => {
      ctx.requireViewer();
      return ctx.loaders.user.load(id);
    },
  },
  Mutation: {
    signUp: (_, args, ctx) => ctx.services.users.signUp(args),
    logIn: (_, { username, password }, ctx) => ctx.services.users.logIn(username, password),
  },
};
