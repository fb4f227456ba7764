import { defineFeature } from "../module.js";
import { deleteEmptyRooms } from "./membership.js";
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
  requires: ["users"],
  // Rooms nobody belongs to any more go, with their history.
  onAccountDeleted: (tx, _userId, roomIds) => deleteEmptyRooms(tx, roomIds),
  addServices: (deps, services) => {
    services.rooms = new RoomsService(deps.db, deps.commands);
  },
});
