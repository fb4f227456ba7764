/**
 * What the bench's GraphQL peers (conventional.ts, lean.ts) share: a JWT check, a Redis
 * PubSub, and Apollo Server 5 + graphql-ws on one port, as most teams would set them up.
 * Env: PORT, REDIS_URL, JWT_SECRET.
 */
import { createServer } from "node:http";
import { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { RedisPubSub } from "graphql-redis-subscriptions";
import { useServer } from "graphql-ws/use/ws";
import { Redis } from "ioredis";
import { jwtVerify } from "jose";
import { WebSocketServer } from "ws";

/** The tables both peers keep a room's messages in, their names prefixed (`conv_`, `lean_`). */
export const chatTables = (prefix: string) => `
  create table if not exists ${prefix}rooms (id uuid primary key, last_seq integer not null default 0);
  create table if not exists ${prefix}members (room_id uuid not null, user_id uuid not null, primary key (room_id, user_id));
  create table if not exists ${prefix}messages (
    id uuid primary key, room_id uuid not null, seq integer not null, sender_id uuid not null, body text not null,
    client_message_id text, created_at timestamptz not null default now());
  create unique index if not exists ${prefix}messages_room_seq_key on ${prefix}messages (room_id, seq);`;

export type PeerContext = {
  userId: string | null;
};

export function redisPubSub(): RedisPubSub {
  const redis = { host: "127.0.0.1", port: Number(new URL(process.env.REDIS_URL!).port || 6379) };
  return new RedisPubSub({ publisher: new Redis(redis), subscriber: new Redis(redis) });
}

export function requireUser(context: PeerContext): string {
  if (!context.userId) throw new GraphQLError("sign in", { extensions: { code: "UNAUTHENTICATED" } });
  return context.userId;
}

/** Serves `schema` over HTTP POST and graphql-ws on /graphql, and GET /ready, on PORT. */
export async function servePeer(schema: GraphQLSchema): Promise<void> {
  const key = new TextEncoder().encode(process.env.JWT_SECRET!);
  async function authenticate(authorization: unknown): Promise<string | null> {
    const token = typeof authorization === "string" ? /^Bearer (\S+)$/.exec(authorization)?.[1] : undefined;
    if (!token) return null;
    try {
      return (await jwtVerify(token, key, { algorithms: ["HS256"] })).payload.sub ?? null;
    } catch {
      return null;
    }
  }
  const app = express();
  const httpServer = createServer(app);
  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql" });
  useServer<Record<string, unknown>, PeerContext>(
    { schema, context: async (ctx) => ({ userId: await authenticate(ctx.connectionParams?.authorization) }) },
    wsServer,
  );
  const apollo = new ApolloServer<PeerContext>({ schema });
  await apollo.start();
  app.get("/ready", (_req, res) => void res.send("ok"));
  app.use(
    "/graphql",
    express.json(),
    expressMiddleware(apollo, {
      context: async ({ req }) => ({ userId: await authenticate(req.headers.authorization) }),
    }),
  );
  httpServer.listen(Number(process.env.PORT), "127.0.0.1");
  process.on("SIGTERM", () => process.exit(0));
}
