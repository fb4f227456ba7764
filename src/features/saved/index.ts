import { defineFeature } from "../module.js";
import { savedCommands } from "./saved.commands.js";
import { savedResolvers } from "./saved.resolvers.js";
import { SavedService } from "./saved.service.js";

declare module "../module.js" {
  interface Services {
    saved: SavedService;
  }
}

export const savedFeature = defineFeature({
  name: "saved",
  schemaFile: "saved.graphql",
  resolvers: savedResolvers,
  commands: savedCommands,
  addServices: (deps, services) => {
    services.saved = new SavedService(deps.db, deps.commands);
  },
});
