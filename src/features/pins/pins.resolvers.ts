import type { Resolvers } from "../../graphql/generated/resolvers.js";
import type { MessageRow } from "../../db/schema.js";

export const pinsResolvers: Resolvers = {
  Mutation: {
    pinMessage: (_, { messageId }, ctx) => ctx.services.pins.pin(ctx.requireViewer(), messageId),
    unpinMessage: (_, { messageId }, ctx) => ctx.services.pins.pin(ctx.requireViewer(), messageId, true),
  },
  Room: {
    pinnedMessages: (room, _, ctx) =>
      ctx.loaders
        .named("pinnedMessages", async (roomIds: readonly string[]) => {
          const pinned = await ctx.services.pins.pinnedIn(roomIds);
          return roomIds.map((id): MessageRow[] => pinned.get(id) ?? []);
        })
        .load(room.id),
  },
};
