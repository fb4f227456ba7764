/**
 * Fast tests of the worker's core and the handlers' rules: an in-process PGlite through every
 * migration, commands applied with applyCommands as a worker would, no broker, no app.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect } from "vitest";
import type { AnyCommand } from "../../../src/commands/protocol.js";
import { openDatabase, type Database } from "../../../src/db/client.js";
import { allCommands, deletionHooks } from "../../../src/features/index.js";
import { createLogger } from "../../../src/shared/logger.js";
import {
  applyCommands,
  type Answer,
  CommandRegistry,
  type CommandRecord,
  type Verdict,
} from "../../../src/worker/applyCommands.js";

/** A Worker over a fresh in-memory database of this test file's own. */
export function useWorker(): Worker {
  const worker = new Worker();
  let close = async () => {};
  beforeAll(async () => {
    const handle = await memoryDatabase();
    worker.db = handle.db;
    close = () => handle.close();
  });
  afterAll(() => close());
  return worker;
}

/** A fresh in-memory database with the schema of drizzle/. */
export async function memoryDatabase(): Promise<{ db: Database; close(): Promise<void> }> {
  const handle = await openDatabase({ pgliteDir: "memory://", poolSize: 1, logger: createLogger("silent") });
  await handle.migrate();
  return handle;
}

/** A command record as the API would produce it. */
export function commandRecord(type: string, payload: unknown, actorId: string | null, id: string = randomUUID()) {
  return { id, value: JSON.stringify({ id, type, actorId, issuedAt: new Date().toISOString(), payload }) };
}

/** Applies records the way a worker does and returns the verdicts (failing on "retry"). */
export class Worker {
  /** Set before the file's tests run (useWorker). */
  db!: Database;
  readonly registry: CommandRegistry;
  constructor(commands: readonly AnyCommand[] = allCommands) {
    this.registry = new CommandRegistry(commands, { hooks: deletionHooks });
  }

  async apply(...records: CommandRecord[]): Promise<Verdict[]> {
    const decision = await applyCommands(this.db, this.registry, records);
    if (decision.kind === "retry") throw decision.error;
    return decision.verdicts;
  }

  /** One command that must succeed: its result. */
  async ok<R = unknown>(type: string, payload: unknown, actorId: string | null): Promise<R> {
    const [verdict] = await this.apply(commandRecord(type, payload, actorId));
    expect(verdict?.kind, JSON.stringify(verdict)).toBe("applied");
    return (verdict as { answer: Answer & { outcome: { result: R } } }).answer.outcome.result;
  }

  /** One command that a rule must refuse: its error. */
  async refused(type: string, payload: unknown, actorId: string | null) {
    const [verdict] = await this.apply(commandRecord(type, payload, actorId));
    expect(verdict?.kind, JSON.stringify(verdict)).toBe("refused");
    const { outcome } = (verdict as { answer: Answer }).answer;
    if (outcome.ok) throw new Error("refused without an error");
    return outcome.error;
  }

  async signUp(name = `u${randomUUID().slice(0, 8)}`) {
    const userId = randomUUID();
    await this.ok("SignUp", { userId, username: name, displayName: name, email: null, passwordHash: "scrypt$x" }, null);
    return userId;
  }

  /** A room of `creator` with `others`, who become the creator's friends first. */
  async room(creator: string, others: string[] = []) {
    if (others.length > 0) await this.ok("AddFriends", { friendIds: others }, creator);
    const roomId = randomUUID();
    await this.ok("CreateRoom", { roomId, name: "room", memberIds: others }, creator);
    return roomId;
  }

  send(roomId: string, body: string, actorId: string, clientMessageId: string | null = null) {
    return commandRecord("SendMessage", { roomId, body, clientMessageId }, actorId);
  }
}
