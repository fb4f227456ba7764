import { defineFeature } from "../module.js";
import { blockCommands } from "./blocks.commands.js";
import type { BlocksService } from "./blocks.service.js";

declare module "../module.js" {
  interface Services {
    blocks: BlocksService;
  }
}

/**
 * Blocking: the blocked user's attempts to reach the blocker are refused by the commands that
 * reach other users (they call checkNotBlockedBy), and the blocker's streams leave their
 * messages out.
 */
export const blocksFeature = defineFeature({
  name: "blocks",
  schemaFile: "blocks.graphql",
  commands: blockCommands,
  requires: ["users"],
  api: () => import("./api.js").then((m) => m.api),
});
