import { defineFeature } from "../module.js";
import type { LiveService } from "./api.js";
import { liveCommands } from "./live.commands.js";

declare module "../module.js" {
  interface Services {
    live: LiveService;
  }
}

export const liveFeature = defineFeature({
  name: "live",
  schemaFile: "live.graphql",
  commands: liveCommands,
  requires: ["users", "blocks", "friends", "rooms"],
  api: () => import("./api.js").then((m) => m.api),
});
