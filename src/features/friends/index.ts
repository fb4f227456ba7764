import { defineFeature } from "../module.js";
import { friendCommands } from "./friends.commands.js";
import type { FriendsService } from "./friends.service.js";

declare module "../module.js" {
  interface Services {
    friends: FriendsService;
  }
}

export const friendsFeature = defineFeature({
  name: "friends",
  schemaFile: "friends.graphql",
  commands: friendCommands,
  requires: ["users"],
  api: () => import("./api.js").then((m) => m.api),
});
