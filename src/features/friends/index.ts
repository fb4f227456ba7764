import { defineFeature } from "../module.js";
import { friendCommands } from "./friends.commands.js";
import { friendsResolvers } from "./friends.resolvers.js";
import { FriendsService } from "./friends.service.js";

declare module "../module.js" {
  interface Services {
    friends: FriendsService;
  }
}

export const friendsFeature = defineFeature({
  name: "friends",
  schemaFile: "friends.graphql",
  resolvers: friendsResolvers,
  commands: friendCommands,
  requires: ["users"],
  addServices: (deps, services) => {
    services.friends = new FriendsService(deps.db, deps.commands);
  },
});
