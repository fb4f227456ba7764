import { defineFeature } from "../module.js";
import { deleteMessageCommand, editMessageCommand } from "./lifecycle.commands.js";
import { messageCommands } from "./messages.commands.js";
import { messagesResolvers } from "./messages.resolvers.js";
import { MessagesService } from "./messages.service.js";

declare module "../module.js" {
  interface Services {
    messages: MessagesService;
  }
}

export const messagesFeature = defineFeature({
  name: "messages",
  schemaFile: "messages.graphql",
  resolvers: messagesResolvers,
  commands: [...messageCommands, editMessageCommand, deleteMessageCommand],
  requires: ["users", "rooms"],
  addServices: (deps, services) => {
    services.messages = new MessagesService(
      deps.db,
      deps.commands,
      deps.events,
      services.rooms,
      deps.config.SUBSCRIPTION_QUEUE_LIMIT,
    );
  },
});
