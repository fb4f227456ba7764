import type { FeatureApi } from "../module.js";
import { mentionsResolvers } from "./mentions.resolvers.js";
import { MentionsService } from "./mentions.service.js";

export const api: FeatureApi = {
  resolvers: mentionsResolvers,
  addServices: (deps, services) => {
    services.mentions = new MentionsService(deps.db);
  },
};
