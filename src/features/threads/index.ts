import { defineFeature } from "../module.js";
import { threadCommands } from "./threads.commands.js";
import type { ThreadsService } from "./threads.service.js";

declare module "../module.js" {
  interface Services {
    threads: ThreadsService;
  }
}

/**
 * Threads: replies to a top-level message (sendMessage's parentId, stored by the messages
 * feature) read apart from the room's timeline, with summaries counted when read and each
 * participant's read position.
 */
export const threadsFeature = defineFeature({
  name: "threads",
  schemaFile: "threads.graphql",
  commands: threadCommands,
  requires: ["rooms", "messages"],
  api: () => import("./api.js").then((m) => m.api),
});
