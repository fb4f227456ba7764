import { defineFeature } from "../module.js";
import { userCommands } from "./users.commands.js";
import type { UsersService } from "./users.service.js";

declare module "../module.js" {
  interface Services {
    users: UsersService;
  }
}

export const usersFeature = defineFeature({
  name: "users",
  schemaFile: "users.graphql",
  commands: userCommands,
  api: () => import("./api.js").then((m) => m.api),
});
