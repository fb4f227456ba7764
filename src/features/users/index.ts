import { defineFeature } from "../module.js";
import { userCommands } from "./users.commands.js";
import { usersResolvers } from "./users.resolvers.js";
import { UsersService } from "./users.service.js";

declare module "../module.js" {
  interface Services {
    users: UsersService;
  }
}

export const usersFeature = defineFeature({
  name: "users",
  schemaFile: "users.graphql",
  resolvers: usersResolvers,
  commands: userCommands,
  addServices: (deps, services) => {
    services.users = new UsersService(deps.db, deps.commands, deps.tokens, deps.events);
  },
});
