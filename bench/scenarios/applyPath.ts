/**
 * 9. The worker's SendMessage path alone, in this process against the bench database: the
 * same batches (random sizes 1-40 over 20 rooms, as group commit makes them at moderate load)
 * applied by the multi-row fast path, and one command at a time as the worker's fallback
 * applies them. No Kafka, HTTP or other process takes CPU, so its figures move little from
 * run to run: the place to judge a change to the statements a batch costs.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { openDatabase, rowsOf, type DatabaseHandle } from "../../src/db/client.js";
import { createLogger } from "../../src/shared/logger.js";
import type { CommandEnvelope } from "../../src/commands/protocol.js";
import { sendMessageCommand } from "../../src/features/messages/messages.commands.js";
import { deletionHooks } from "../../src/features/index.js";
import { sendMessages, type SendMessagePayload } from "../../src/features/messages/sendMessages.commands.js";
import { cpuMeter } from "../lib/procstat.js";
import { row, type Row } from "../lib/report.js";
import type { Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";

type Batch = CommandEnvelope<SendMessagePayload>[];

async function seed(handle: DatabaseHandle, count: number) {
  const users = Array.from({ length: count }, () => randomUUID());
  const rooms = Array.from({ length: count }, () => randomUUID());
  const { db } = handle;
  await db.execute(sql`insert into users (id, username, display_name, password_hash)
    select id, 'apply_' || substr(id::text, 1, 12), 'Bench', 'x' from unnest(${sql.param(users)}::uuid[]) as id`);
  await db.execute(sql`insert into rooms (id, name, creator_id)
    select id, 'apply bench', ${users[0]} from unnest(${sql.param(rooms)}::uuid[]) as id`);
  await db.execute(sql`insert into room_members (room_id, user_id)
    select r, u from unnest(${sql.param(rooms)}::uuid[]) as r, unnest(${sql.param(users)}::uuid[]) as u`);
  return { users, rooms };
}

/** Batch shapes, fixed for the run; each pass gets fresh command ids so nothing is found stored. */
function shapes(count: number, users: string[], rooms: string[]) {
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + Math.floor(Math.random() * 40) }, () => ({
      actorId: users[Math.floor(Math.random() * users.length)]!,
      roomId: rooms[Math.floor(Math.random() * rooms.length)]!,
      retryable: Math.random() < 0.5,
    })),
  );
}

const commandsOf = (shape: ReturnType<typeof shapes>[number]): Batch =>
  shape.map(({ actorId, roomId, retryable }) => ({
    id: randomUUID(),
    type: "SendMessage",
    actorId,
    issuedAt: new Date().toISOString(),
    payload: {
      roomId,
      body: "a message of ordinary length, about forty",
      clientMessageId: retryable ? randomUUID() : null,
    },
  }));

async function pass(handle: DatabaseHandle, batches: ReturnType<typeof shapes>, fastPath: boolean) {
  const [backend] = rowsOf<{ pid: number }>(await handle.db.execute(sql`select pg_backend_pid() as pid`));
  const database = cpuMeter(backend!.pid);
  const node = process.cpuUsage();
  let messages = 0;
  for (const shape of batches) {
    const commands = commandsOf(shape);
    messages += commands.length;
    await handle.db.transaction(async (tx) => {
      await sendMessageCommand.findApplied!(tx, commands);
      if (fastPath) await sendMessages(tx, commands);
      else
        for (const c of commands)
          await tx.transaction((savepoint) => sendMessageCommand.apply(savepoint, c, { hooks: deletionHooks }));
    });
  }
  const used = process.cpuUsage(node);
  return { nodeUs: (used.user + used.system) / messages, databaseUs: (database() * 1000) / messages };
}

export async function applyPathScenario(
  stack: Stack,
  opts: { batches: number; rounds: number },
  log: (l: string) => void,
): Promise<Row[]> {
  // One connection, so the database's CPU is one backend's.
  const handle = await openDatabase({
    url: stack.databaseUrl,
    pgliteDir: "",
    poolSize: 1,
    logger: createLogger("warn", { role: "bench" }),
  });
  try {
    await handle.migrate();
    const { users, rooms } = await seed(handle, 20);
    const batches = shapes(opts.batches, users, rooms);
    await pass(handle, batches.slice(0, 50), true); // warm-up: JIT, plans
    await pass(handle, batches.slice(0, 50), false);
    const fast: Array<Awaited<ReturnType<typeof pass>>> = [];
    const single: typeof fast = [];
    // Alternated rounds, each side's median: a slow stretch of the machine falls on both.
    for (let r = 1; r <= opts.rounds; r++) {
      fast.push(await pass(handle, batches, true));
      single.push(await pass(handle, batches, false));
      log(
        `apply path round ${r}: fast path ${round(fast.at(-1)!.nodeUs, 0)} us/msg, one at a time ${round(single.at(-1)!.nodeUs, 0)} us/msg (node)`,
      );
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const figure = (name: string, pick: (p: (typeof fast)[number]) => number) =>
      row({
        scenario: "9. worker SendMessage path, batches of 1-40",
        figure: name,
        value: round(median(fast.map(pick)), 1),
        unit: "CPU-us/msg",
        baselineName: "one command at a time",
        baseline: round(median(single.map(pick)), 1),
        lowerIsBetter: true,
      });
    return [figure("node (worker's share)", (p) => p.nodeUs), figure("PostgreSQL backend", (p) => p.databaseUs)];
  } finally {
    await handle.close();
  }
}
