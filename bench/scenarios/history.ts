/** 5. History: room.messages(last: 50, beforeSeq) at random positions in a very long room. */
import { performance } from "node:perf_hooks";
import postgres from "postgres";
import { graphql } from "../lib/clients.js";
import { cpuMeter } from "../lib/procstat.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, settleAfterBulkLoad, type Stack } from "../lib/stack.js";
import { distribution, round } from "../lib/stats.js";

export async function historyScenario(
  stack: Stack,
  opts: { messages: number; queries: number },
  log: (l: string) => void,
): Promise<Row[]> {
  const chat = await Chat.start(Chat.env(stack), { api: true, workers: 1 });
  const db = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    const fixture = await createFixture(chat.url, 1);
    const room = fixture.rooms[0]!;
    log(`history: seeding ${opts.messages.toLocaleString("en")} messages with one INSERT ... SELECT`);
    const seeded = performance.now();
    await db`
      insert into messages (id, room_id, seq, sender_id, body)
      select gen_random_uuid(), ${room}, n, ${fixture.sender.id}, 'history message ' || n
      from generate_series(1, ${opts.messages}) as n`;
    await db`update rooms set last_seq = ${opts.messages} where id = ${room}`;
    await settleAfterBulkLoad(db, log);
    log(`history: seeded in ${round((performance.now() - seeded) / 1000, 1)} s; ${opts.queries} queries`);

    const QUERY = `query($r: ID!, $b: Int) { room(id: $r) { messages(last: 50, beforeSeq: $b) { seq body createdAt } } }`;
    const positions = Array.from({ length: opts.queries }, () => 51 + Math.floor(Math.random() * (opts.messages - 50)));
    for (const b of positions.slice(0, 20)) await graphql(chat.url, QUERY, { r: room, b }, fixture.reader.token); // warm-up
    const ours: number[] = [];
    const apiCpu = cpuMeter(chat.api!.pid);
    for (const b of positions) {
      const started = performance.now();
      const data = await graphql(chat.url, QUERY, { r: room, b }, fixture.reader.token);
      ours.push(performance.now() - started);
      if (data.room.messages.length !== 50 || data.room.messages[49].seq !== b - 1)
        throw new Error(`wrong page before ${b}`);
    }
    const apiCpuMs = apiCpu() / positions.length;
    log(`history: the API spent ${round(apiCpuMs, 2)} CPU-ms per request`);
    const base: number[] = [];
    for (const b of positions) {
      const started = performance.now();
      await db`select * from messages where room_id = ${room} and seq < ${b} order by seq desc limit 50`;
      base.push(performance.now() - started);
    }
    const o = distribution(ours);
    const s = distribution(base);
    return (["p50", "p99"] as const).map((p) =>
      row({
        scenario: `5. history, ${opts.messages.toLocaleString("en")} messages`,
        figure: p,
        value: round(o[p], 2),
        unit: "ms",
        baselineName: "same SQL, driver only",
        baseline: round(s[p], 2),
        lowerIsBetter: true,
        ...(p === "p99" ? { target: "<= 10 ms", met: o.p99 <= 10 } : {}),
        details: p === "p50" ? { queries: opts.queries, ours: o, sqlOnly: s, apiCpuMsPerRequest: apiCpuMs } : undefined,
      }),
    );
  } finally {
    await db.end();
    await chat.stop();
  }
}
