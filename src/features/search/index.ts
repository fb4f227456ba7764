import { defineFeature } from "../module.js";
import type { SearchService } from "./search.service.js";

declare module "../module.js" {
  interface Services {
    search: SearchService;
  }
}

/** Full-text search of the viewer's rooms: a read-only feature, no commands. */
export const searchFeature = defineFeature({
  name: "search",
  schemaFile: "search.graphql",
  commands: [],
  requires: ["rooms"],
  api: () => import("./api.js").then((m) => m.api),
});
