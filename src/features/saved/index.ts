import { eq } from "drizzle-orm";
import { savedMessages } from "../../db/schema.js";
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
  requires: ["rooms", "messages"],
  // A deleted message's saved copies go for everyone.
  onMessageDeleted: async (tx, messageId) =>
    void (await tx.delete(savedMessages).where(eq(savedMessages.messageId, messageId))),
  addServices: (deps, services) => {
    services.saved = new SavedService(deps.db, deps.commands);
  },
});
