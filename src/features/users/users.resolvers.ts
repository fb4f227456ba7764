import { requireId } from "../../shared/validation.js";
import { notFound } from "../../shared/errors.js";
import type { Resolvers } from "../../graphql/generated/resolvers.js";
import type { UserRow } from "../../db/schema.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { deletedUser } from "./users.service.js";

/** User rows a signUp or logIn returns to the person who just proved to be that user (no token yet). */
const ownAccounts = new WeakSet<UserRow>();
const ownAccount = <T extends { user: UserRow }>(payload: T) => {
  ownAccounts.add(payload.user);
  return payload;
};

/**
 * When someone was last here (lastLoginAt, presence) is theirs and their friends' to know,
 * not every user's: the user sees their own, and so do the users they have added as friends.
 */
export async function activityVisible(user: UserRow, ctx: GraphQLContext): Promise<boolean> {
  if (user.id === ctx.viewer?.id || ownAccounts.has(user)) return true;
  if (!ctx.viewer) return false;
  return (await ctx.loaders.friendIds.load(user.id)).includes(ctx.viewer.id);
}

/** The user behind an id from a row (a sender, a member, an event's actor); a deleted account shows as such. */
export async function userOrDeleted(ctx: GraphQLContext, id: string | null): Promise<UserRow> {
  return (id ? await ctx.loaders.user.load(id) : null) ?? deletedUser;
}

export const usersResolvers: Resolvers = {
  Query: {
    me: (_, __, ctx) => ctx.viewer,
    user: async (_, { id }, ctx) => {
      ctx.requireViewer();
      const user = await ctx.loaders.user.load(requireId(id, "user"));
      if (!user) throw notFound(`no user with id ${id}`);
      return user;
    },
    userByUsername: (_, { username }, ctx) => {
      ctx.requireViewer();
      return ctx.services.users.byUsername(username);
    },
  },
  Mutation: {
    signUp: async (_, args, ctx) => ownAccount(await ctx.services.users.signUp(args)),
    logIn: async (_, { username, password }, ctx) => ownAccount(await ctx.services.users.logIn(username, password)),
    logOut: (_, __, ctx) => ctx.services.users.logOut(ctx.requireViewer(), ctx.session),
    logOutEverywhere: (_, __, ctx) => ctx.services.users.logOutEverywhere(ctx.requireViewer()),
    updateStatusMessage: (_, { statusMessage }, ctx) =>
      ctx.services.users.updateStatusMessage(ctx.requireViewer(), statusMessage),
    deleteAccount: (_, __, ctx) => ctx.services.users.deleteAccount(ctx.requireViewer()),
  },
  User: {
    lastLoginAt: async (user, _, ctx) => ((await activityVisible(user, ctx)) ? user.lastLoginAt : null),
  },
};
