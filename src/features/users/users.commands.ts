import { eq, or, sql } from "drizzle-orm";
import { z } from "zod";
import { users } from "../../db/schema.js";
import { defineCommand } from "../../commands/protocol.js";
import { badInput, unauthenticated } from "../../errors.js";

export const signUpCommand = defineCommand({
  type: "SignUp",
  payload: z.object({
    userId: z.uuid(),
    username: z.string().regex(/^[a-z0-9_]{3,32}$/),
    displayName: z.string().min(1).max(64),
    email: z.email().nullable(),
    passwordHash: z.string().startsWith("scrypt$"),
  }),
  result: z.object({ userId: z.uuid() }),
  // Same username -> same partition, so two sign-ups racing for a name are applied in order.
  key: (p) => `username:${p.username}`,
  async apply(tx, { payload }) {
    const clashes = await tx
      .select({ id: users.id, username: users.username, email: users.email })
      .from(users)
      .where(or(eq(users.id, payload.userId), eq(users.username, payload.username), payload.email ? eq(users.email, payload.email) : sql`false`));
    if (clashes.some((u) => u.id === payload.userId)) return { result: { userId: payload.userId } }; // redelivered
    if (clashes.some((u) => u.username === payload.username)) throw badInput(`username ${payload.username} is taken`, "username");
    if (clashes.length > 0) throw badInput("email is already registered", "email");
    await tx.insert(users).values({
      id: payload.userId,
      username: payload.username,
      displayName: payload.displayName,
      email: payload.email,
      passwordHash: payload.passwordHash,
    });
    return { result: { userId: payload.userId } };
  },
});

export const logInCommand = defineCommand({
  type: "LogIn",
  payload: z.object({ userId: z.uuid() }),
  result: z.object({ epoch: z.number().int() }),
  key: (p) => p.userId,
  async apply(tx, { payload, issuedAt }) {
    const [user] = await tx
      .update(users)
      .set({ lastLoginAt: new Date(issuedAt) })
      .where(eq(users.id, payload.userId))
      .returning({ epoch: users.sessionEpoch });
    if (!user) throw unauthenticated("this account no longer exists");
    return { result: { epoch: user.epoch } };
  },
});

export const userCommands = [signUpCommand, logInCommand];
