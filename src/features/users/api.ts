import type { FeatureApi } from "../module.js";
import { usersResolvers } from "./users.resolvers.js";
import { UsersService } from "./users.service.js";

export const api: FeatureApi = {
  resolvers: usersResolvers,
  // Signed out, by address: guessing passwords and making accounts are what these limit.
  rateLimits: {
    logIn: (args, ctx) => [
      {
        limit: "logInPerAddressAndUsername",
        key: `${ctx.clientAddress}|${String(args.username).trim().toLowerCase()}`,
      },
      { limit: "logInPerAddress", key: ctx.clientAddress },
    ],
    signUp: (_args, ctx) => [{ limit: "signUpPerAddress", key: ctx.clientAddress }],
  },
  addServices: (deps, services) => {
    services.users = new UsersService(deps.db, deps.commands, deps.tokens, deps.events);
  },
};
