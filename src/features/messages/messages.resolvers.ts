import type { MessageRow } from "../../db/schema.js";
import { freshPerEvent, type GraphQLContext } from "../../graphql/context.js";
import type { Resolvers } from "../../graphql/generated/resolvers.js";
import { AppError, notFound } from "../../shared/errors.js";
import type { MessageChange } from "./messages.service.js";
import { readableRoom, requireMyMembership, vouched } from "../rooms/rooms.resolvers.js";
import { userOrDeleted } from "../users/users.resolvers.js";

/**
 * A room's stream was opened after its membership check and ends when the membership does
 * (FORBIDDEN), so its events need no membership read each (see readableRoom).
 */
async function vouchingStream<T>(ctx: GraphQLContext, roomId: string, stream: Promise<T>): Promise<T> {
  const opened = await stream;
  const id = roomId.toLowerCase();
  ctx.vouchedRoom = (room) => room === id;
  return opened;
}

/** The message a change is about: a reply's thread parent, read once per event and selection (shared execution). */
async function changedMessage(change: MessageChange, ctx: GraphQLContext): Promise<MessageRow> {
  if (!("type" in change)) return change;
  const parent = await ctx.loaders.message.load(change.message.parentId!);
  if (!parent) throw notFound(`no message with id ${change.message.parentId}`);
  return parent;
}

export const messagesResolvers: Resolvers = {
  Mutation: {
    // The worker stored these as a member: no membership read to show the message.
    sendMessage: (_, args, ctx) => vouched(ctx, ctx.services.messages.send(ctx.requireViewer(), args)),
    editMessage: (_, { messageId, body }, ctx) =>
      vouched(ctx, ctx.services.messages.edit(ctx.requireViewer(), { messageId, body })),
    deleteMessage: (_, { messageId }, ctx) =>
      vouched(ctx, ctx.services.messages.delete(ctx.requireViewer(), messageId)),
  },
  Room: {
    messages: async (room, { last, beforeSeq }, ctx) => {
      await requireMyMembership(room, ctx);
      return ctx.loaders.messagePage.load(ctx.services.messages.pageRequest(room.id, { last: last ?? 50, beforeSeq }));
    },
  },
  Message: {
    __isTypeOf: (message: MessageRow, ctx: GraphQLContext) => readableRoom(message.roomId, ctx),
    room: async (message, _, ctx) => {
      const room = await ctx.loaders.room.load(message.roomId);
      if (!room) throw notFound(`no room with id ${message.roomId}`);
      return room;
    },
    sender: (message, _, ctx) => userOrDeleted(ctx, message.senderId),
    // Hidden pending review (features/moderation): the text is kept, not shown.
    body: (message) => (message.hiddenAt ? "" : message.body),
    deletedBy: (message, _, ctx) => (message.deletedBy ? userOrDeleted(ctx, message.deletedBy) : null),
    // Of the same room (the worker checked): readable wherever the quoting message is.
    quotedMessage: async (message, _, ctx) => {
      const quoted = message.quotedMessageId ? await ctx.loaders.message.load(message.quotedMessageId) : null;
      return quoted && !quoted.deletedAt ? quoted : null;
    },
    quotedMessageDeleted: async (message, _, ctx) => {
      if (!message.quotedMessageId) return false;
      const quoted = await ctx.loaders.message.load(message.quotedMessageId);
      return !quoted || quoted.deletedAt !== null;
    },
  },
  Subscription: {
    messageUpdated: {
      subscribe: (_, { roomId, after }, ctx) =>
        vouchingStream(
          ctx,
          roomId,
          ctx.services.messages.updates(ctx.requireViewer(), roomId, ctx.onSlowConsumer, after),
        ),
      resolve: (item: MessageChange | AppError, args: unknown, ctx: GraphQLContext) =>
        changedMessage(freshPerEvent(item, args, ctx), ctx),
    },
    messageAdded: {
      subscribe: (_, { roomId, afterSeq }, ctx) =>
        vouchingStream(
          ctx,
          roomId,
          ctx.services.messages.stream(ctx.requireViewer(), roomId, { afterSeq }, ctx.onSlowConsumer),
        ),
      resolve: freshPerEvent,
    },
  },
};
