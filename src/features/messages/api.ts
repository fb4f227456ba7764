import { signedInLimit } from "../../graphql/rateLimited.js";
import type { FeatureApi } from "../module.js";
import { messagesResolvers } from "./messages.resolvers.js";
import { FeedReplay } from "../live/replay.js";
import { MessagesService } from "./messages.service.js";

export const api: FeatureApi = {
  resolvers: messagesResolvers,
  rateLimits: { sendMessage: signedInLimit("messagesPerUser") },
  addServices: (deps, services) => {
    services.messages = new MessagesService(
      deps.db,
      deps.commands,
      deps.events,
      services.rooms,
      services.blocks,
      deps.config.SUBSCRIPTION_QUEUE_LIMIT,
      {
        replay: new FeedReplay(deps.db, deps.events, deps.config.FEED_REPLAY_LIMIT),
        retentionHours: deps.config.FEED_RETENTION_HOURS,
      },
    );
  },
};
