import type { Resolvers } from "../../graphql/generated/resolvers.js";
import type { FeatureApi } from "../module.js";
import { SearchService } from "./search.service.js";

const searchResolvers: Resolvers = {
  Query: {
    searchMessages: async (_, { query, roomId, first, after }, ctx) => {
      const hits = await ctx.services.search.search(ctx.requireViewer(), { query, roomId, first: first ?? 20, after });
      // The search read only the viewer's rooms.
      for (const hit of hits) ctx.loaders.vouchMembership(hit.roomId);
      return hits;
    },
  },
};

export const api: FeatureApi = {
  resolvers: searchResolvers,
  addServices: (deps, services) => {
    services.search = new SearchService(deps.db, services.rooms, {
      perUser: deps.config.SEARCH_MAX_CONCURRENT_PER_USER,
      // The rest of the pool stays free for everyone's other reads.
      perProcess: Math.max(1, Math.floor(deps.config.DATABASE_POOL_SIZE / 4)),
    });
  },
};
