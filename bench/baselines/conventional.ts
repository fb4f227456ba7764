/**
 * The conventional stack, the peer the cost scenario compares with: what most teams build
 * instead of ours. Apollo Server 5 + graphql-ws on one port; `sendMessage` verifies the JWT,
 * takes the room's next seq with `UPDATE ... RETURNING` (only for members) and inserts the
 * message through Drizzle in one transaction, then publishes it with graphql-redis-subscriptions;
 * `messageAdded` is served from that Redis PubSub. No Kafka, no idempotency, no replay.
 *
 * Env: PORT, DATABASE_URL, REDIS_URL, JWT_SECRET. It creates its tables (prefixed `conv_`) at start;
 * the bench fills rooms and members directly.
 */
import { randomUUID } from "node:crypto";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { GraphQLError } from "graphql";
import postgres from "postgres";
import { chatTables, redisPubSub, requireUser, servePeer, type PeerContext } from "./peerServer.js";

const convRooms = pgTable("conv_rooms", {
  id: uuid("id").primaryKey(),
  lastSeq: integer("last_seq").notNull().default(0),
});
const convMembers = pgTable(
  "conv_members",
  { roomId: uuid("room_id").notNull(), userId: uuid("user_id").notNull() },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] })],
);
const convMessages = pgTable(
  "conv_messages",
  {
    id: uuid("id").primaryKey(),
    roomId: uuid("room_id").notNull(),
    seq: integer("seq").notNull(),
    senderId: uuid("sender_id").notNull(),
    body: text("body").notNull(),
    clientMessageId: text("client_message_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("conv_messages_room_seq_key").on(t.roomId, t.seq)],
);

const typeDefs = /* GraphQL */ `
  type Message {
    id: ID!
    roomId: ID!
    senderId: ID!
    seq: Int!
    body: String!
    clientMessageId: String
    createdAt: String!
  }
  type Query {
    ok: Boolean
  }
  type Mutation {
    sendMessage(roomId: ID!, body: String!, clientMessageId: String): Message!
  }
  type Subscription {
    messageAdded(roomId: ID!): Message!
  }
`;

async function main() {
  const client = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
  const db = drizzle(client);
  await client.unsafe(chatTables("conv_"));
  const pubsub = redisPubSub();
  const isMember = (roomId: string, userId: string) =>
    sql`exists (select 1 from ${convMembers} where ${convMembers.roomId} = ${roomId} and ${convMembers.userId} = ${userId})`;

  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: {
      Message: { createdAt: (m: { createdAt: Date }) => m.createdAt.toISOString() },
      Mutation: {
        async sendMessage(
          _: unknown,
          args: { roomId: string; body: string; clientMessageId?: string },
          ctx: PeerContext,
        ) {
          const userId = requireUser(ctx);
          const message = await db.transaction(async (tx) => {
            const [room] = await tx
              .update(convRooms)
              .set({ lastSeq: sql`${convRooms.lastSeq} + 1` })
              .where(and(eq(convRooms.id, args.roomId), isMember(args.roomId, userId)))
              .returning({ seq: convRooms.lastSeq });
            if (!room) throw new GraphQLError("not a member", { extensions: { code: "FORBIDDEN" } });
            const [stored] = await tx
              .insert(convMessages)
              .values({
                id: randomUUID(),
                roomId: args.roomId,
                seq: room.seq,
                senderId: userId,
                body: args.body,
                clientMessageId: args.clientMessageId ?? null,
              })
              .returning();
            return stored!;
          });
          await pubsub.publish(`room.${args.roomId}`, { messageAdded: message });
          return message;
        },
      },
      Subscription: {
        messageAdded: {
          subscribe: async (_: unknown, args: { roomId: string }, ctx: PeerContext) => {
            const userId = requireUser(ctx);
            const [member] = await db
              .select()
              .from(convMembers)
              .where(and(eq(convMembers.roomId, args.roomId), eq(convMembers.userId, userId)));
            if (!member) throw new GraphQLError("not a member", { extensions: { code: "FORBIDDEN" } });
            return pubsub.asyncIterator(`room.${args.roomId}`);
          },
          // Redis carries JSON: the date arrives as a string.
          resolve: (payload: { messageAdded: { createdAt: string } }) => ({
            ...payload.messageAdded,
            createdAt: new Date(payload.messageAdded.createdAt),
          }),
        },
      },
    },
  });

  await servePeer(schema);
}

await main();
