import { defineFeature } from "../module.js";
import { roomCommands } from "./rooms.commands.js";
import { roomsResolvers } from "./rooms.resolvers.js";
import { RoomsService } from "./rooms.service.js";

declare module "../module.js" {
  interface Services {
    rooms: RoomsService;
  }
}

export const roomsFeature = defineFeature({
  name: "rooms",
  schemaFile: "rooms.graphql",
  resolvers: roomsResolvers,
  commands: roomCommands,
  addServices: (deps, services) => {
    services.rooms = new RoomsService(deps.db, deps.commands);
  },
});
