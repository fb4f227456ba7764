/**
 * The worker's core without Kafka: what a chunk of records decides, what a redelivery of it
 * answers, what becomes a dead letter and when the whole chunk must be retried.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineCommand, type AnyCommand } from "../../src/commands/protocol.js";
import { commandLog, messages } from "../../src/db/schema.js";
import { allCommands, deletionHooks } from "../../src/features/index.js";
import { applyCommands, CommandRegistry } from "../../src/worker/applyCommands.js";
import { commandRecord, useWorker, type Worker } from "./support/commands.js";

const worker = useWorker();

const seqsOf = (verdicts: Awaited<ReturnType<Worker["apply"]>>) =>
  verdicts.map((v) => (v.answer?.outcome.ok ? (v.answer.outcome.result as { seq: number }).seq : null));

describe("a chunk of sends", () => {
  it("stores each message once with gapless seqs, and answers a redelivery as before", async () => {
    const alice = await worker.signUp();
    const roomId = await worker.room(alice);
    const records = ["a", "b", "c"].map((body) => worker.send(roomId, body, alice));

    const first = await worker.apply(...records);
    expect(first.map((v) => v.kind)).toEqual(["applied", "applied", "applied"]);
    expect(seqsOf(first)).toEqual([1, 2, 3]);
    expect(first[0]!.answer!.events).toMatchObject([{ type: "MessageAdded", roomId, message: { seq: 1, body: "a" } }]);

    const again = await worker.apply(...records);
    expect(again.map((v) => v.kind)).toEqual(["replayed", "replayed", "replayed"]);
    expect(again.map((v) => v.answer)).toEqual(first.map((v) => v.answer));
    const stored = await worker.db
      .select()
      .from(messages)
      .where(sql`${messages.roomId} = ${roomId}`);
    expect(stored.map((m) => m.seq).sort()).toEqual([1, 2, 3]);
  });

  it("answers a command repeated within one chunk from its first application", async () => {
    const alice = await worker.signUp();
    const roomId = await worker.room(alice);
    const record = worker.send(roomId, "once", alice);
    const verdicts = await worker.apply(record, worker.send(roomId, "between", alice), record);
    expect(verdicts.map((v) => v.kind)).toEqual(["applied", "applied", "replayed"]);
    expect(verdicts[2]!.answer).toEqual(verdicts[0]!.answer);
    expect(seqsOf(verdicts)).toEqual([1, 2, 1]);
  });

  it("stores a client's retry (same clientMessageId, new command) once", async () => {
    const alice = await worker.signUp();
    const roomId = await worker.room(alice);
    const [first] = await worker.apply(worker.send(roomId, "hi", alice, "c-1"));
    const [retry] = await worker.apply(worker.send(roomId, "hi", alice, "c-1"));
    expect(retry!.answer!.outcome).toMatchObject({
      ok: true,
      result: (first!.answer!.outcome as { result: object }).result,
    });
    expect(seqsOf(await worker.apply(worker.send(roomId, "next", alice)))).toEqual([2]);
  });
});

describe("refusals", () => {
  it("records a rule's refusal, keeps the rest of the chunk, and answers the refusal again on redelivery", async () => {
    const [alice, mallory] = [await worker.signUp(), await worker.signUp()];
    const roomId = await worker.room(alice);
    const records = [worker.send(roomId, "mine", alice), worker.send(roomId, "intrusion", mallory)];
    const verdicts = await worker.apply(...records);
    expect(verdicts.map((v) => v.kind)).toEqual(["applied", "refused"]);
    expect(verdicts[1]!.answer!.outcome).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    expect(verdicts[1]!.answer!.events).toEqual([]);

    const again = await worker.apply(...records);
    expect(again.map((v) => v.kind)).toEqual(["replayed", "replayed"]);
    expect(again[1]!.answer!.outcome).toEqual(verdicts[1]!.answer!.outcome);
    const logged = await worker.db
      .select()
      .from(commandLog)
      .where(sql`${commandLog.commandId} = ${records[1]!.id}`);
    expect(logged).toHaveLength(1);
  });
});

describe("dead letters", () => {
  it("sends records that can never be commands to the dead letters, answering those with an id", async () => {
    const alice = await worker.signUp();
    const roomId = await worker.room(alice);
    const unknown = commandRecord("Teleport", {}, alice);
    const invalid = commandRecord("SendMessage", { roomId, body: 42 }, alice);
    const verdicts = await worker.apply(
      { value: "{not json" },
      { value: JSON.stringify({ id: "nope" }) },
      unknown,
      worker.send(roomId, "still stored", alice),
      invalid,
      { value: null },
    );
    expect(verdicts.map((v) => v.kind)).toEqual([
      "deadLetter",
      "deadLetter",
      "deadLetter",
      "applied",
      "deadLetter",
      "deadLetter",
    ]);
    const reasons = verdicts.map((v) => (v.kind === "deadLetter" ? v.reason : null));
    expect(reasons[0]).toBe("value is not JSON");
    expect(reasons[1]).toMatch(/^not a command envelope/);
    expect(reasons[2]).toBe("unknown command type Teleport");
    expect(reasons[4]).toMatch(/^invalid SendMessage payload: body/);
    expect(verdicts[2]!.answer!.outcome).toMatchObject({
      commandId: unknown.id,
      ok: false,
      error: { code: "BAD_USER_INPUT" },
    });
    expect(verdicts[4]!.answer!.outcome).toMatchObject({ commandId: invalid.id, ok: false });
    expect(verdicts[0]!.answer).toBeUndefined();
  });
});

/** Test commands: each writes a command_log row under a chosen id, so two with one id collide. */
const claim = (type: string, withFastPath: boolean): AnyCommand =>
  defineCommand({
    type,
    payload: z.object({ key: z.uuid() }),
    result: z.object({ key: z.uuid() }),
    key: (p) => p.key,
    async apply(tx, { payload }) {
      await tx.insert(commandLog).values({ commandId: payload.key, type, outcome: {}, events: [] });
      return { result: payload };
    },
    applyMany: withFastPath
      ? async (tx, commands) => {
          const rows = commands.map((c) => ({ commandId: c.payload.key, type, outcome: {}, events: [] }));
          await tx.insert(commandLog).values(rows);
          return commands.map((c) => ({ ok: true as const, applied: { result: c.payload } }));
        }
      : undefined,
  });

describe("database failures", () => {
  it("isolates a command the database refuses on the fast path: it alone is dead-lettered", async () => {
    const registry = new CommandRegistry([claim("Claim", true)], { hooks: deletionHooks });
    const [taken, fresh] = [crypto.randomUUID(), crypto.randomUUID()];
    await worker.db.insert(commandLog).values({ commandId: taken, type: "Claim", outcome: {}, events: [] });
    const records = [fresh, taken].map((key) => commandRecord("Claim", { key }, null));
    const decision = await applyCommands(worker.db, registry, records);
    expect(decision.kind).toBe("done");
    const verdicts = decision.kind === "done" ? decision.verdicts : [];
    expect(verdicts.map((v) => v.kind)).toEqual(["applied", "deadLetter"]);
    expect(verdicts[1]).toMatchObject({ reason: expect.stringMatching(/^database rejected it/) });
    expect(verdicts[1]!.answer!.outcome).toMatchObject({ ok: false, error: { code: "INTERNAL_SERVER_ERROR" } });
  });

  it("asks for the whole chunk again on a failure that may pass, and keeps nothing of it", async () => {
    const flaky = defineCommand({
      type: "Flaky",
      payload: z.object({}),
      result: z.object({}),
      key: () => "k",
      apply: async () => {
        throw Object.assign(new Error("terminating connection"), { code: "57P01" });
      },
    });
    const registry = new CommandRegistry([...allCommands, flaky], { hooks: deletionHooks });
    const alice = await worker.signUp();
    const roomId = await worker.room(alice);
    const decision = await applyCommands(worker.db, registry, [
      worker.send(roomId, "rolled back", alice),
      commandRecord("Flaky", {}, alice),
    ]);
    expect(decision).toMatchObject({ kind: "retry", error: { code: "57P01" } });
    const stored = await worker.db
      .select()
      .from(messages)
      .where(sql`${messages.roomId} = ${roomId}`);
    expect(stored).toEqual([]);
  });
});
