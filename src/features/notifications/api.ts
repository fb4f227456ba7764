import type { Resolvers } from "../../graphql/generated/resolvers.js";
import type { FeatureApi } from "../module.js";
import { requireMyMembership, vouched } from "../rooms/rooms.resolvers.js";
import type { NotificationLevel } from "./notifications.rules.js";
import { NotificationsService } from "./notifications.service.js";

const resolvers: Resolvers = {
  Mutation: {
    setRoomNotifications: (_, { roomId, level }, ctx) =>
      vouched(ctx, ctx.services.notifications.setLevel(ctx.requireViewer(), roomId, level)),
  },
  Room: {
    notificationLevel: async (room, _, ctx) =>
      (await requireMyMembership(room, ctx)).notificationLevel as NotificationLevel,
  },
};

export const api: FeatureApi = {
  resolvers,
  addServices: (deps, services) => {
    services.notifications = new NotificationsService(deps.commands, services.rooms);
  },
};
