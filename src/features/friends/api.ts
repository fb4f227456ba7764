import type { FeatureApi } from "../module.js";
import { friendsResolvers } from "./friends.resolvers.js";
import { FriendsService } from "./friends.service.js";

export const api: FeatureApi = {
  resolvers: friendsResolvers,
  addServices: (deps, services) => {
    services.friends = new FriendsService(deps.db, deps.commands);
  },
};
