import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { DateTimeResolver } from "graphql-scalars";
import type { GraphQLSchema } from "graphql";
import { friendsResolvers } from "../features/friends/friends.resolvers.js";
import { messagesResolvers } from "../features/messages/messages.resolvers.js";
import { roomsResolvers } from "../features/rooms/rooms.resolvers.js";
import { savedResolvers } from "../features/saved/saved.resolvers.js";
import { usersResolvers } from "../features/users/users.resolvers.js";
import { schemaDir } from "../paths.js";
import type { Resolvers } from "./generated/resolvers.js";
import { withCanonicalIds } from "./ids.js";
import { withRateLimits } from "./rateLimited.js";

/** The SDL, one file per domain in schema/. */
export function loadTypeDefs(): string[] {
  return readdirSync(schemaDir)
    .filter((f) => f.endsWith(".graphql"))
    .sort()
    .map((f) => readFileSync(path.join(schemaDir, f), "utf8"));
}

const resolvers: Resolvers[] = [
  { DateTime: DateTimeResolver },
  usersResolvers,
  friendsResolvers,
  roomsResolvers,
  messagesResolvers,
  savedResolvers,
];

export function buildSchema(): GraphQLSchema {
  return withRateLimits(withCanonicalIds(makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers })));
}
