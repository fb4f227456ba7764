import { defineFeature } from "../module.js";
import { setRoomNotificationsCommand } from "./notifications.commands.js";
import type { NotificationsService } from "./notifications.service.js";

declare module "../module.js" {
  interface Services {
    notifications: NotificationsService;
  }
}

/** Per-room notification levels; the feed (features/live) marks its events with `notify` by them. */
export const notificationsFeature = defineFeature({
  name: "notifications",
  schemaFile: "notifications.graphql",
  commands: [setRoomNotificationsCommand],
  requires: ["rooms"],
  api: () => import("./api.js").then((m) => m.api),
});
