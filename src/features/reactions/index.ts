import { defineFeature } from "../module.js";
import { reactionCommands } from "./reactions.commands.js";
import { reactionsResolvers } from "./reactions.resolvers.js";
import { ReactionsService } from "./reactions.service.js";

declare module "../module.js" {
  interface Services {
    reactions: ReactionsService;
  }
}

export const reactionsFeature = defineFeature({
  name: "reactions",
  schemaFile: "reactions.graphql",
  resolvers: reactionsResolvers,
  commands: reactionCommands,
  addServices: (deps, services) => {
    services.reactions = new ReactionsService(deps.db, deps.commands, services.messages);
  },
});
