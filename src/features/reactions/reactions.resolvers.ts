import type { Resolvers } from "../../graphql/generated/resolvers.js";
import type { ReactionCount } from "./reactions.service.js";

export const reactionsResolvers: Resolvers = {
  Mutation: {
    react: (_, { messageId, emoji }, ctx) => ctx.services.reactions.react(ctx.requireViewer(), { messageId, emoji }),
    unreact: (_, { messageId, emoji }, ctx) =>
      ctx.services.reactions.react(ctx.requireViewer(), { messageId, emoji }, true),
  },
  Message: {
    reactions: (message, _, ctx) =>
      ctx.loaders
        .named("reactions", async (ids: readonly string[], viewerId) => {
          const counts = await ctx.services.reactions.counts(ids, viewerId);
          return ids.map((id): ReactionCount[] => counts.get(id) ?? []);
        })
        .load(message.id),
  },
};
