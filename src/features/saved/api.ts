import type { FeatureApi } from "../module.js";
import { savedResolvers } from "./saved.resolvers.js";
import { SavedService } from "./saved.service.js";

export const api: FeatureApi = {
  resolvers: savedResolvers,
  addServices: (deps, services) => {
    services.saved = new SavedService(deps.db, deps.commands);
  },
};
