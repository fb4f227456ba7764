import { defineFeature } from "../module.js";
import { deleteEmptyRooms } from "./membership.js";
import { roomCommands } from "./rooms.commands.js";
import type { RoomsService } from "./rooms.service.js";

declare module "../module.js" {
  interface Services {
    rooms: RoomsService;
  }
}

export const roomsFeature = defineFeature({
  name: "rooms",
  schemaFile: "rooms.graphql",
  commands: roomCommands,
  requires: ["users"],
  // Rooms nobody belongs to any more go, with their history.
  onAccountDeleted: (tx, _userId, roomIds) => deleteEmptyRooms(tx, roomIds),
  api: () => import("./api.js").then((m) => m.api),
});
