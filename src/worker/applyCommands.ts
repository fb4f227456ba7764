/**
 * The worker's core, with no Kafka in it: a chunk of command records in, one verdict per
 * record out (applied, refused, replayed, dead letter), or "retry" for the whole chunk.
 * Everything is decided in one database transaction, every decision recorded in
 * `command_log` (or in the command's own row), so a chunk applied again answers as before.
 * The Kafka adapter (commandConsumer.ts) fetches, calls this, publishes and commits.
 */
import { anyOf } from "../db/arrays.js";
import type { Database, Transaction } from "../db/client.js";
import { databaseFailure } from "../db/errors.js";
import { commandLog } from "../db/schema.js";
import {
  commandEnvelope,
  type AnyCommand,
  type CommandEnvelope,
  type CommandOutcome,
  type DomainEvent,
  type HandlerContext,
} from "../commands/protocol.js";
import { AppError, type ErrorCode } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";

/** Command definitions by type, and what their handlers are given. */
export class CommandRegistry {
  private readonly byType: ReadonlyMap<string, AnyCommand>;
  constructor(
    commands: readonly AnyCommand[],
    readonly context: HandlerContext,
  ) {
    this.byType = new Map(commands.map((c) => [c.type, c]));
  }
  get = (type: string) => this.byType.get(type);
  definitions = () => this.byType.values();
}

/** A record as fetched: its bytes, and where it stood (absent in tests that need no feed order). */
export interface CommandRecord {
  value: Buffer | string | null;
  partition?: number;
  offset?: string;
}

/** A command's answer: its outcome and the events it emitted (re-emitted as they were on redelivery). */
export interface Answer {
  definition?: AnyCommand;
  outcome: CommandOutcome;
  events: DomainEvent[];
}

export type Verdict =
  /** Applied now: publish its answer. */
  | { kind: "applied"; answer: Answer }
  /** A domain rule refused it (an AppError from its handler): recorded and answered. */
  | { kind: "refused"; answer: Answer }
  /** Decided before (a redelivery, a producer's retry, a duplicate in the chunk): the same answer again. */
  | { kind: "replayed"; answer: Answer }
  /** Can never be applied: goes to the dead-letter topic, answered when it has a command id. */
  | { kind: "deadLetter"; reason: string; answer?: Answer };

/** Per record, in the records' order; or the whole chunk must be tried again (nothing was kept). */
export type ChunkDecision = { kind: "done"; verdicts: Verdict[] } | { kind: "retry"; error: unknown };

export interface ApplyOptions {
  /** Called between commands of a long chunk (the adapter heartbeats there). */
  progress?: () => Promise<void>;
  logger?: Logger;
}

/**
 * Applies a chunk in one transaction, using the commands' multi-row fast paths. If the
 * database refuses a fast-path statement (a constraint no pre-check caught), the chunk is
 * applied again one command per savepoint, which isolates the culprit as a dead letter.
 * Any other failure (the database away, a deadlock) leaves nothing behind: retry.
 */
export async function applyCommands(
  db: Database,
  registry: CommandRegistry,
  records: readonly CommandRecord[],
  options: ApplyOptions = {},
): Promise<ChunkDecision> {
  const decoded = records.map(decodeCommand);
  for (const fastPaths of [true, false]) {
    try {
      const verdicts = await db.transaction(async (tx) => {
        const chunk = new Chunk(tx, registry, await findDecided(tx, registry, decoded), fastPaths, options);
        for (const [index, item] of decoded.entries()) await chunk.take(index, item);
        return chunk.finish();
      });
      return { kind: "done", verdicts };
    } catch (error) {
      if (!fastPaths || databaseFailure(error).retriable) return { kind: "retry", error };
      options.logger?.warn(
        { err: error },
        "fast path refused by the database; applying the chunk one command at a time",
      );
    }
  }
  throw new Error("unreachable");
}

type Decoded = { command: CommandEnvelope } | { reason: string };

/** Reads a record into a command envelope with its position, or says why it can never be one. */
function decodeCommand({ value, partition, offset }: CommandRecord): Decoded {
  let raw: unknown;
  try {
    raw = JSON.parse(value?.toString() ?? "");
  } catch {
    return { reason: "value is not JSON" };
  }
  const envelope = commandEnvelope.safeParse(raw);
  if (!envelope.success) return { reason: `not a command envelope: ${envelope.error.issues[0]?.message}` };
  const position = partition !== undefined && offset !== undefined ? { partition, offset: Number(offset) } : undefined;
  return { command: { ...envelope.data, ...(position ? { position } : {}) } };
}

/**
 * Commands decided before, with what they produced: rejections and most commands from
 * `command_log`, commands that are their own record (a message) from their `findApplied`.
 */
async function findDecided(tx: Transaction, registry: CommandRegistry, decoded: Decoded[]) {
  const commands = decoded.flatMap((d) => ("command" in d ? [d.command] : []));
  const decided = new Map<string, Answer>();
  if (commands.length === 0) return decided;
  // The lookups are independent: issued together, they share a round trip to the database.
  const selfRecorded = [...registry.definitions()].flatMap((definition) => {
    const own = commands.filter((c) => c.type === definition.type);
    return definition.findApplied && own.length > 0
      ? [definition.findApplied(tx, own).then((applied) => ({ definition, applied }))]
      : [];
  });
  const ids = commands.map((c) => c.id);
  const [rows, ...found] = await Promise.all([
    tx.select().from(commandLog).where(anyOf(commandLog.commandId, ids)),
    ...selfRecorded,
  ]);
  for (const { definition, applied } of found)
    for (const [commandId, { result, events }] of applied)
      decided.set(commandId, { definition, outcome: { commandId, ok: true, result }, events: events ?? [] });
  for (const row of rows)
    decided.set(row.commandId, {
      definition: registry.get(row.type),
      outcome: row.outcome as CommandOutcome,
      events: row.events as DomainEvent[],
    });
  return decided;
}

/** Where a decided command's room events stand in the feed's order, for its command_log row. */
function feedPlace(command: CommandEnvelope, events: DomainEvent[]) {
  const rooms = new Set(events.flatMap((e) => ("roomId" in e ? [e.roomId] : [])));
  return {
    partition: command.position?.partition ?? null,
    logOffset: command.position?.offset ?? null,
    roomId: rooms.size === 1 ? [...rooms][0]! : null,
    roomEvents: rooms.size > 0,
  };
}

const refusal = (command: CommandEnvelope, code: ErrorCode, message: string): CommandOutcome => ({
  commandId: command.id,
  ok: false,
  error: { code, message },
});

/** Consecutive commands of one type with a fast path, waiting to be applied together. */
interface Run {
  definition: AnyCommand;
  commands: CommandEnvelope[];
  indexes: number[];
  ids: Set<string>;
}

/** One attempt at a chunk, inside its transaction. */
class Chunk {
  private readonly verdicts: Verdict[] = [];
  private readonly newlyDecided: Array<typeof commandLog.$inferInsert> = [];
  private run: Run | null = null;

  constructor(
    private readonly tx: Transaction,
    private readonly registry: CommandRegistry,
    private readonly decided: Map<string, Answer>,
    private readonly fastPaths: boolean,
    private readonly options: ApplyOptions,
  ) {}

  async take(index: number, item: Decoded) {
    if ("reason" in item) return this.deadLetter(index, item.reason);
    const { command } = item;
    if (this.run?.ids.has(command.id)) await this.flush(); // a duplicate: answer it from the first
    const previous = this.decided.get(command.id);
    if (previous) return void (this.verdicts[index] = { kind: "replayed", answer: previous });
    const definition = this.registry.get(command.type);
    if (!definition) {
      const reason = `unknown command type ${command.type}`;
      return this.deadLetter(index, reason, refusal(command, "BAD_USER_INPUT", reason));
    }
    const payload = definition.payload.safeParse(command.payload);
    if (!payload.success) {
      const issues = payload.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ");
      const reason = `invalid ${command.type} payload: ${issues}`;
      return this.deadLetter(index, reason, refusal(command, "BAD_USER_INPUT", reason));
    }
    const parsed = { ...command, payload: payload.data };
    if (this.fastPaths && definition.applyMany) return this.queue(index, definition, parsed);
    await this.flush();
    await this.applyOne(index, definition, parsed);
  }

  /** Applies what is still queued and records the new decisions; the verdicts in record order. */
  async finish() {
    await this.flush();
    if (this.newlyDecided.length > 0) await this.tx.insert(commandLog).values(this.newlyDecided);
    return this.verdicts;
  }

  private async applyOne(index: number, definition: AnyCommand, command: CommandEnvelope) {
    try {
      const applied = await this.tx.transaction((savepoint) =>
        definition.apply(savepoint, command, this.registry.context),
      );
      this.decide(
        index,
        definition,
        command,
        { commandId: command.id, ok: true, result: applied.result },
        applied.events,
      );
      await this.options.progress?.();
    } catch (error) {
      if (error instanceof AppError)
        return this.decide(index, definition, command, refusal(command, error.code, error.message));
      if (databaseFailure(error).retriable) throw error; // the whole chunk rolls back and is retried
      this.options.logger?.error(
        { err: error, commandId: command.id, type: command.type },
        "command can never be applied",
      );
      const outcome = refusal(command, "INTERNAL_SERVER_ERROR", `command ${command.id} could not be applied`);
      this.deadLetter(index, `database rejected it: ${(error as Error).message}`, outcome);
    }
  }

  private async queue(index: number, definition: AnyCommand, command: CommandEnvelope) {
    if (this.run && this.run.definition !== definition) await this.flush();
    this.run ??= { definition, commands: [], indexes: [], ids: new Set() };
    this.run.commands.push(command);
    this.run.indexes.push(index);
    this.run.ids.add(command.id);
  }

  private async flush() {
    const run = this.run;
    if (!run) return;
    this.run = null;
    const results = await run.definition.applyMany!(this.tx, run.commands);
    results.forEach((r, i) => {
      const command = run.commands[i]!;
      const index = run.indexes[i]!;
      if (r.ok)
        this.decide(
          index,
          run.definition,
          command,
          { commandId: command.id, ok: true, result: r.applied.result },
          r.applied.events,
        );
      else this.decide(index, run.definition, command, refusal(command, r.error.code, r.error.message));
    });
    await this.options.progress?.();
  }

  private decide(
    index: number,
    definition: AnyCommand,
    command: CommandEnvelope,
    outcome: CommandOutcome,
    events: DomainEvent[] = [],
  ) {
    const answer = { definition, outcome, events };
    this.verdicts[index] = { kind: outcome.ok ? "applied" : "refused", answer };
    this.decided.set(command.id, answer);
    // A success of a command that is its own record is found by findApplied instead.
    if (!(outcome.ok && definition.findApplied))
      this.newlyDecided.push({
        commandId: command.id,
        type: command.type,
        outcome,
        events,
        ...feedPlace(command, events),
      });
  }

  private deadLetter(index: number, reason: string, outcome?: CommandOutcome) {
    this.verdicts[index] = { kind: "deadLetter", reason, answer: outcome && { outcome, events: [] } };
  }
}
