/** 8. Search: searchMessages for a word in 1,000,000 messages over the reader's rooms. */
import { performance } from "node:perf_hooks";
import postgres from "postgres";
import { graphql } from "../lib/clients.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, settleAfterBulkLoad, type Stack } from "../lib/stack.js";
import { distribution, round } from "../lib/stats.js";

/** Each word occurs in messages / WORDS messages, spread over all rooms. */
const WORDS = 10_000;
const SMALL_ROOMS = 20_000;
const SMALL_ROOM_MESSAGES = 5;

export async function searchScenario(
  stack: Stack,
  opts: { messages: number; rooms: number; queries: number },
  log: (l: string) => void,
): Promise<Row[]> {
  const chat = await Chat.start(Chat.env(stack), { api: true, workers: 1 });
  const db = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    const fixture = await createFixture(chat.url, opts.rooms);
    log(`search: seeding ${opts.messages.toLocaleString("en")} messages in ${opts.rooms} rooms (GIN index included)`);
    const seeded = performance.now();
    await db`
      insert into messages (id, room_id, seq, sender_id, body)
      select gen_random_uuid(), (${fixture.rooms}::uuid[])[1 + n % ${opts.rooms}], n / ${opts.rooms} + 1,
             ${fixture.sender.id}, 'searchable message ' || n || ' about w' || (n % ${WORDS})
      from generate_series(0, ${opts.messages - 1}) as n`;
    await db`update rooms set last_seq = ${Math.ceil(opts.messages / opts.rooms)} where id = any(${fixture.rooms}::uuid[])`;
    // Rooms differ in size: beside these big ones, many small rooms of other people (what
    // the other scenarios leave in a full run, made explicit so this one measures the same alone).
    await db`
      with small as (insert into rooms (id, name, last_seq)
                     select gen_random_uuid(), 'small', ${SMALL_ROOM_MESSAGES} from generate_series(1, ${SMALL_ROOMS}) returning id)
      insert into messages (id, room_id, seq, sender_id, body)
      select gen_random_uuid(), small.id, s, ${fixture.sender.id}, 'small talk ' || s
      from small, generate_series(1, ${SMALL_ROOM_MESSAGES}) as s`;
    await settleAfterBulkLoad(db, log);
    log(`search: seeded in ${round((performance.now() - seeded) / 1000, 1)} s; ${opts.queries} queries`);

    const QUERY = `query($q: String!) { searchMessages(query: $q, first: 20) { id seq body createdAt } }`;
    const words = Array.from({ length: opts.queries }, () => `w${Math.floor(Math.random() * WORDS)}`);
    for (const q of words.slice(0, 20)) await graphql(chat.url, QUERY, { q }, fixture.reader.token); // warm-up
    const ours: number[] = [];
    for (const q of words) {
      const started = performance.now();
      const data = await graphql(chat.url, QUERY, { q }, fixture.reader.token);
      ours.push(performance.now() - started);
      if (data.searchMessages.length !== 20) throw new Error(`search for ${q} found ${data.searchMessages.length}`);
    }
    const base: number[] = [];
    for (const q of words) {
      const started = performance.now();
      await db.begin(async (tx) => {
        const [scope] = await tx`select set_config('plan_cache_mode', 'force_custom_plan', true),
          array(select room_id from room_members where user_id = ${fixture.reader.id})::text[] as rooms`;
        await tx`select * from messages where to_tsvector('simple', body) @@ plainto_tsquery('simple', ${q})
          and room_id = any(${scope!.rooms}::uuid[]) and deleted_at is null
          order by created_at desc, id desc limit 20`;
      });
      base.push(performance.now() - started);
    }
    const o = distribution(ours);
    const s = distribution(base);
    return (["p50", "p99"] as const).map((p) =>
      row({
        scenario: `8. search, ${opts.messages.toLocaleString("en")} messages, ${opts.messages / WORDS} matches per word`,
        figure: p,
        value: round(o[p], 2),
        unit: "ms",
        baselineName: "same SQL, driver only",
        baseline: round(s[p], 2),
        lowerIsBetter: true,
        details: p === "p50" ? { queries: opts.queries, ours: o, sqlOnly: s } : undefined,
      }),
    );
  } finally {
    await db.end();
    await chat.stop();
  }
}
