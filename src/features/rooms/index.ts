import { defineFeature } from "../module.js";
import { deleteEmptyRooms, ensureOwners } from "./membership.js";
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
  // Rooms nobody belongs to any more go, with their history; an owner's pass on.
  onAccountDeleted: async (tx, _userId, roomIds) => {
    await deleteEmptyRooms(tx, roomIds);
    await ensureOwners(tx, roomIds);
  },
  api: () => import("./api.js").then((m) => m.api),
});
