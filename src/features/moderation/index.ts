import { defineFeature } from "../module.js";
import { moderationCommands } from "./moderation.commands.js";
import type { ModerationService } from "./moderation.service.js";

declare module "../module.js" {
  interface Services {
    moderation: ModerationService;
  }
}

/**
 * Reports, and what the moderation consumer (src/worker/moderationConsumer.ts, its own
 * process role) decides from them and from floods: hidden messages and muted senders.
 */
export const moderationFeature = defineFeature({
  name: "moderation",
  schemaFile: "moderation.graphql",
  commands: moderationCommands,
  requires: ["rooms", "messages"],
  api: () => import("./api.js").then((m) => m.api),
});
