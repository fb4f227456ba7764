import type { Resolvers } from "../../graphql/generated/resolvers.js";
import type { FeatureApi } from "../module.js";
import { ModerationService } from "./moderation.service.js";

const resolvers: Resolvers = {
  Mutation: {
    reportMessage: (_, args, ctx) => ctx.services.moderation.report(ctx.requireViewer(), args),
  },
  Message: {
    hidden: (message) => message.hiddenAt !== null,
  },
};

export const api: FeatureApi = {
  resolvers,
  addServices: (deps, services) => {
    services.moderation = new ModerationService(deps.commands, services.messages);
  },
};
