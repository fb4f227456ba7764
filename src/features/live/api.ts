import { signedInLimit } from "../../graphql/rateLimited.js";
import type { FeatureApi } from "../module.js";
import { Feeds } from "./feeds.js";
import { FeedReplay } from "./replay.js";
import { liveResolvers } from "./live.resolvers.js";
import { Presence } from "./presence.js";
import { Typing } from "./typing.js";

/** The live layer a chat client needs besides messages: a per-user feed, typing, presence, read receipts. */
export interface LiveService {
  feeds: Feeds;
  typing: Typing;
  presence: Presence;
}

export const api: FeatureApi = {
  resolvers: liveResolvers,
  // Clients call it per keystroke; repeats cost a map lookup (typing.ts).
  rateLimits: { setTyping: signedInLimit("typingPerUser") },
  addServices: ({ db, events, commands, config, logger }, services) => {
    const presence = new Presence(
      events,
      commands,
      { heartbeatMs: config.PRESENCE_HEARTBEAT_MS, timeoutMs: config.PRESENCE_TIMEOUT_MS },
      logger.child({ component: "presence" }),
    );
    const replay = new FeedReplay(db, events, config.FEED_REPLAY_LIMIT);
    const feeds = new Feeds(events, services.rooms, services.friends, services.blocks, replay, {
      queueLimit: config.SUBSCRIPTION_QUEUE_LIMIT,
      retentionHours: config.FEED_RETENTION_HOURS,
    });
    presence.onChange((change) => {
      feeds.announce(change).catch((error) => logger.warn({ err: error }, "could not announce a presence change"));
    });
    presence.start();
    services.live = { feeds, presence, typing: new Typing(events, services.rooms, config.SUBSCRIPTION_QUEUE_LIMIT) };
  },
  stop: (services) => services.live.presence.stop(),
  connections: (services) => ({
    opened: (userId) => services.live.presence.connected(userId),
    closed: (userId) => services.live.presence.disconnected(userId),
  }),
};
