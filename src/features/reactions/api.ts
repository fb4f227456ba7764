import type { FeatureApi } from "../module.js";
import { reactionsResolvers } from "./reactions.resolvers.js";
import { ReactionsService } from "./reactions.service.js";

export const api: FeatureApi = {
  resolvers: reactionsResolvers,
  addServices: (deps, services) => {
    services.reactions = new ReactionsService(deps.db, deps.commands, services.messages);
  },
};
