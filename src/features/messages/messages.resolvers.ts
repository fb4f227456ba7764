import type { MessageRow } from "../../db/schema.js";
import type { GraphQLContext } from "../../graphql/context.js";
import type { Resolvers } from "../../graphql/generated/resolvers.js";
import { AppError, notFound } from "../../errors.js";
import { requireMyMembership } from "../rooms/rooms.resolvers.js";
import { deletedUser } from "../users/users.service.js";

export const messagesResolvers: Resolvers = {
  Mutation: {
    sendMessage: (_, { roomId, body, clientMessageId }, ctx) =>
      ctx.services.messages.send(ctx.requireViewer(), { roomId, body, clientMessageId }),
  },
  Room: {
    messages: async (room, { last, beforeSeq }, ctx) => {
      await requireMyMembership(room, ctx);
      return ctx.loaders.messagePage.load(ctx.services.messages.pageRequest(room.id, { last: last ?? 50, beforeSeq }));
    },
  },
  Message: {
    room: async (message, _, ctx) => {
      const room = await ctx.loaders.room.load(message.roomId);
      if (!room) throw notFound(`no room with id ${message.roomId}`);
      return room;
    },
    sender: async (message, _, ctx) =>
      (message.senderId ? await ctx.loaders.user.load(message.senderId) : null) ?? deletedUser,
  },
  Subscription: {
    messageAdded: {
      subscribe: (_, { roomId, afterSeq }, ctx) =>
        ctx.services.messages.stream(ctx.requireViewer(), roomId, { afterSeq }, ctx.onSlowConsumer),
      resolve: (item: MessageRow | AppError, _args: unknown, ctx: GraphQLContext) => {
        if (item instanceof AppError) throw item; // the stream's last item: why it ended
        // The subscription's context lives as long as the subscription: fresh loaders per event.
        ctx.refreshLoaders();
        return item;
      },
    },
  },
};
