import type { FeatureApi } from "../module.js";
import { threadsResolvers } from "./threads.resolvers.js";
import { ThreadsService } from "./threads.service.js";

export const api: FeatureApi = {
  resolvers: threadsResolvers,
  addServices: (deps, services) => {
    services.threads = new ThreadsService(deps.db, deps.commands, services.messages);
  },
};
