import type { FeatureApi } from "../module.js";
import { roomsResolvers } from "./rooms.resolvers.js";
import { RoomsService } from "./rooms.service.js";

export const api: FeatureApi = {
  resolvers: roomsResolvers,
  addServices: (deps, services) => {
    services.rooms = new RoomsService(deps.db, deps.commands);
  },
};
