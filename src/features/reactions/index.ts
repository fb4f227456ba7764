import { eq } from "drizzle-orm";
import { reactions } from "../../db/schema.js";
import { defineFeature } from "../module.js";
import { reactionCommands } from "./reactions.commands.js";
import type { ReactionsService } from "./reactions.service.js";

declare module "../module.js" {
  interface Services {
    reactions: ReactionsService;
  }
}

export const reactionsFeature = defineFeature({
  name: "reactions",
  schemaFile: "reactions.graphql",
  commands: reactionCommands,
  requires: ["messages"],
  // A deleted message keeps no reactions.
  onMessageDeleted: async (tx, messageId) =>
    void (await tx.delete(reactions).where(eq(reactions.messageId, messageId))),
  api: () => import("./api.js").then((m) => m.api),
});
