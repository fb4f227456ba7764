import { defineFeature } from "../module.js";
import { deleteMessageCommand, editMessageCommand } from "./lifecycle.commands.js";
import { messageCommands } from "./messages.commands.js";
import type { MessagesService } from "./messages.service.js";

declare module "../module.js" {
  interface Services {
    messages: MessagesService;
  }
}

export const messagesFeature = defineFeature({
  name: "messages",
  schemaFile: "messages.graphql",
  commands: [...messageCommands, editMessageCommand, deleteMessageCommand],
  requires: ["users", "blocks", "rooms"],
  api: () => import("./api.js").then((m) => m.api),
});
