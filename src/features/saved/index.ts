import { eq } from "drizzle-orm";
import { savedMessages } from "../../db/schema.js";
import { defineFeature } from "../module.js";
import { savedCommands } from "./saved.commands.js";
import type { SavedService } from "./saved.service.js";

declare module "../module.js" {
  interface Services {
    saved: SavedService;
  }
}

export const savedFeature = defineFeature({
  name: "saved",
  schemaFile: "saved.graphql",
  commands: savedCommands,
  requires: ["rooms", "messages"],
  // A deleted message's saved copies go for everyone.
  onMessageDeleted: async (tx, messageId) =>
    void (await tx.delete(savedMessages).where(eq(savedMessages.messageId, messageId))),
  api: () => import("./api.js").then((m) => m.api),
});
