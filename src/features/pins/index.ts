import { eq } from "drizzle-orm";
import { pinnedMessages } from "../../db/schema.js";
import { defineFeature } from "../module.js";
import { pinCommands } from "./pins.commands.js";
import type { PinsService } from "./pins.service.js";

declare module "../module.js" {
  interface Services {
    pins: PinsService;
  }
}

/** Pinned messages: any member pins a message of the room for everyone. */
export const pinsFeature = defineFeature({
  name: "pins",
  schemaFile: "pins.graphql",
  commands: pinCommands,
  requires: ["rooms", "messages"],
  // A deleted message is unpinned.
  onMessageDeleted: async (tx, messageId) =>
    void (await tx.delete(pinnedMessages).where(eq(pinnedMessages.messageId, messageId))),
  api: () => import("./api.js").then((m) => m.api),
});
