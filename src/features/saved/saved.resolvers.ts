import { notFound } from "../../shared/errors.js";
import type { Resolvers } from "../../graphql/generated/resolvers.js";
import { encodeCursor } from "./saved.service.js";

export const savedResolvers: Resolvers = {
  Query: {
    savedMessages: (_, { first, after }, ctx) =>
      ctx.services.saved.list(ctx.requireViewer(), { first: first ?? 50, after }),
  },
  Mutation: {
    saveMessage: (_, { messageId }, ctx) => ctx.services.saved.save(ctx.requireViewer(), messageId),
    unsaveMessage: (_, { messageId }, ctx) => ctx.services.saved.unsave(ctx.requireViewer(), messageId),
  },
  SavedMessage: {
    message: async (saved, _, ctx) => {
      const message = await ctx.loaders.message.load(saved.messageId);
      if (!message) throw notFound(`no message with id ${saved.messageId}`);
      return message;
    },
    cursor: (saved) => encodeCursor(saved),
  },
};
