import type { MessageRow } from "../../db/schema.js";
import type { Resolvers } from "../../graphql/generated/resolvers.js";
import { encodeTimeCursor } from "../../shared/cursor.js";
import { requireMyMembership } from "../rooms/rooms.resolvers.js";
import { userOrDeleted } from "../users/users.resolvers.js";

export const mentionsResolvers: Resolvers = {
  Query: {
    mentions: (_, { first, after }, ctx) =>
      ctx.services.mentions.list(ctx.requireViewer(), { first: first ?? 20, after }),
  },
  Message: {
    mentions: (message, _, ctx) => Promise.all(message.mentionIds.map((id) => userOrDeleted(ctx, id))),
  },
  Mention: {
    message: (message: MessageRow) => message,
    cursor: (message: MessageRow) => encodeTimeCursor(message.createdAt, message.id),
  },
  Room: {
    mentionCount: async (room, _, ctx) => {
      await requireMyMembership(room, ctx);
      return ctx.loaders
        .named("mentionCount", (roomIds: readonly string[], viewerId) =>
          ctx.services.mentions.unreadCounts(viewerId!, roomIds),
        )
        .load(room.id);
    },
  },
};
