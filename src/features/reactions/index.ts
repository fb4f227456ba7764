import { eq } from "drizzle-orm";
import { reactions } from "../../db/schema.js";
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
  requires: ["messages"],
  // A deleted message keeps no reactions.
  onMessageDeleted: async (tx, messageId) =>
    void (await tx.delete(reactions).where(eq(reactions.messageId, messageId))),
  addServices: (deps, services) => {
    services.reactions = new ReactionsService(deps.db, deps.commands, services.messages);
  },
});
