import type { Resolvers } from "../../graphql/generated/resolvers.js";
import type { FeatureApi } from "../module.js";
import { BlocksService } from "./blocks.service.js";

const resolvers: Resolvers = {
  Query: {
    blockedUsers: (_, __, ctx) => ctx.services.blocks.blockedUsers(ctx.requireViewer()),
  },
  Mutation: {
    blockUser: (_, { userId }, ctx) => ctx.services.blocks.block(ctx.requireViewer(), userId),
    unblockUser: (_, { userId }, ctx) => ctx.services.blocks.unblock(ctx.requireViewer(), userId),
  },
  Message: {
    senderBlocked: (message, _, ctx) =>
      ctx.loaders
        .named("senderBlocked", (senderIds: readonly (string | null)[], viewerId) =>
          ctx.services.blocks.blockedAmong(viewerId!, senderIds),
        )
        .load(message.senderId),
  },
};

export const api: FeatureApi = {
  resolvers,
  addServices: (deps, services) => {
    services.blocks = new BlocksService(deps.db, deps.commands, deps.events);
  },
};
