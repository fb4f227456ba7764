import type { FeatureApi } from "../module.js";
import { pinsResolvers } from "./pins.resolvers.js";
import { PinsService } from "./pins.service.js";

export const api: FeatureApi = {
  resolvers: pinsResolvers,
  addServices: (deps, services) => {
    services.pins = new PinsService(deps.db, deps.commands, services.messages);
  },
};
