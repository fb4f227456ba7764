import { defineFeature } from "../module.js";
import type { MentionsService } from "./mentions.service.js";

declare module "../module.js" {
  interface Services {
    mentions: MentionsService;
  }
}

/**
 * Mentions: the worker finds them when it stores a message (messages' `mentionIds`); this
 * feature reads them (a message's, a room's unread ones, the viewer's list). The feed's
 * MentionedEvent is the live feature's.
 */
export const mentionsFeature = defineFeature({
  name: "mentions",
  schemaFile: "mentions.graphql",
  commands: [],
  requires: ["rooms", "messages"],
  api: () => import("./api.js").then((m) => m.api),
});
