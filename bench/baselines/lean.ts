/**
 * The lean peer: the least a GraphQL chat server can do per message and still be one. Apollo
 * Server 5 + graphql-ws on one port; `sendMessage` verifies the JWT and runs one SQL statement
 * through postgres.js (no ORM, no transaction block): the membership check, the room's next
 * seq and the insert, returning the message with its sender's name; it is published with
 * graphql-redis-subscriptions and `messageAdded` is served from that Redis PubSub, the sender
 * resolved from the payload. No Kafka, no idempotency, no replay, no budgets.
 *
 * Env: PORT, DATABASE_URL, REDIS_URL, JWT_SECRET. It creates its tables (prefixed `lean_`) at
 * start; the bench fills users, rooms and members directly.
 */
import { randomUUID } from "node:crypto";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { GraphQLError } from "graphql";
import postgres from "postgres";
import { chatTables, redisPubSub, requireUser, servePeer, type PeerContext } from "./peerServer.js";

const LEAN_DDL = `
  create table if not exists lean_users (id uuid primary key, display_name text not null);
  ${chatTables("lean_")}`;

const typeDefs = /* GraphQL */ `
  type User {
    id: ID!
    displayName: String!
  }
  type Message {
    id: ID!
    roomId: ID!
    seq: Int!
    body: String!
    clientMessageId: String
    createdAt: String!
    sender: User!
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

interface StoredMessage {
  id: string;
  roomId: string;
  seq: number;
  body: string;
  clientMessageId: string | null;
  createdAt: string;
  sender: { id: string; displayName: string };
}

async function main() {
  const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
  await sql.unsafe(LEAN_DDL);
  const pubsub = redisPubSub();

  async function send(roomId: string, userId: string, body: string, clientMessageId: string | null) {
    const [row] = await sql`
      with room as (
        update lean_rooms set last_seq = last_seq + 1
        where id = ${roomId} and exists (select 1 from lean_members where room_id = ${roomId} and user_id = ${userId})
        returning last_seq
      ), stored as (
        insert into lean_messages (id, room_id, seq, sender_id, body, client_message_id)
        select ${randomUUID()}, ${roomId}, last_seq, ${userId}, ${body}, ${clientMessageId} from room
        returning *
      )
      select stored.*, lean_users.display_name from stored join lean_users on lean_users.id = stored.sender_id`;
    if (!row) throw new GraphQLError("not a member", { extensions: { code: "FORBIDDEN" } });
    const message: StoredMessage = {
      id: row.id,
      roomId: row.room_id,
      seq: row.seq,
      body: row.body,
      clientMessageId: row.client_message_id,
      createdAt: (row.created_at as Date).toISOString(),
      sender: { id: row.sender_id, displayName: row.display_name },
    };
    return message;
  }

  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: {
      Mutation: {
        async sendMessage(
          _: unknown,
          args: { roomId: string; body: string; clientMessageId?: string },
          ctx: PeerContext,
        ) {
          const message = await send(args.roomId, requireUser(ctx), args.body, args.clientMessageId ?? null);
          await pubsub.publish(`room.${args.roomId}`, { messageAdded: message });
          return message;
        },
      },
      Subscription: {
        messageAdded: {
          subscribe: async (_: unknown, args: { roomId: string }, ctx: PeerContext) => {
            const userId = requireUser(ctx);
            const [member] = await sql`
              select 1 from lean_members where room_id = ${args.roomId} and user_id = ${userId}`;
            if (!member) throw new GraphQLError("not a member", { extensions: { code: "FORBIDDEN" } });
            return pubsub.asyncIterator(`room.${args.roomId}`);
          },
        },
      },
    },
  });

  await servePeer(schema);
}

await main();
