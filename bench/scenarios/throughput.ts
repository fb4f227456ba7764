/** 2. Send throughput: sustained, acknowledged sendMessage calls per second (closed loop). */
import { closedLoop, graphql, subscribe } from "../lib/clients.js";
import { startBaseline } from "../lib/processes.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, type Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";

const SEND = `mutation($r: ID!, $b: String!, $c: String) { sendMessage(roomId: $r, body: $b, clientMessageId: $c) { seq } }`;

export async function throughputScenario(
  stack: Stack,
  opts: { seconds: number; concurrency: number; rooms: number },
  log: (l: string) => void,
): Promise<Row[]> {
  const chat = await Chat.start(Chat.env(stack), { api: true, workers: 1 });
  let ours: { perSecond: number; completed: number; failed: number };
  let delivered = 0;
  try {
    const fixture = await createFixture(chat.url, opts.rooms);
    // One subscriber per room counts deliveries: acknowledged messages must also arrive.
    const subs = await Promise.all(
      fixture.rooms.map((r) =>
        subscribe(
          chat.url.replace(/^http/, "ws"),
          fixture.reader.token,
          `subscription($r: ID!) { messageAdded(roomId: $r) { seq } }`,
          { r },
          () => delivered++,
        ),
      ),
    );
    await closedLoop(opts.concurrency, 2, (i) =>
      graphql(chat.url, SEND, { r: fixture.rooms[i % opts.rooms], b: "warm-up", c: `w-${i}` }, fixture.sender.token),
    ); // warm-up
    delivered = 0;
    log(`throughput: ${opts.concurrency} concurrent senders for ${opts.seconds} s`);
    ours = await closedLoop(opts.concurrency, opts.seconds, (i) =>
      graphql(
        chat.url,
        SEND,
        { r: fixture.rooms[i % opts.rooms], b: `message ${i}`, c: `t-${i}` },
        fixture.sender.token,
      ),
    );
    const deadline = Date.now() + 20_000;
    while (delivered < ours.completed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    subs.forEach((s) => s.close());
  } finally {
    await chat.stop();
  }

  log(`throughput: baseline, bare Apollo Server answering { __typename }`);
  const bare = await startBaseline("bareApollo.ts");
  let base: { perSecond: number };
  try {
    const url = `${bare.origin}/graphql`;
    await closedLoop(opts.concurrency, 2, () => graphql(url, "{ __typename }"));
    base = await closedLoop(opts.concurrency, opts.seconds, () => graphql(url, "{ __typename }"));
  } finally {
    await bare.stop();
  }
  return [
    row({
      scenario: `2. send throughput, ${opts.concurrency} concurrent`,
      figure: "acknowledged/s",
      value: round(ours.perSecond, 0),
      unit: "req/s",
      baselineName: "bare Apollo { __typename }",
      baseline: round(base.perSecond, 0),
      target: ">= 0.5x baseline",
      met: ours.perSecond >= base.perSecond / 2,
      details: { completed: ours.completed, failed: ours.failed, delivered },
    }),
  ];
}
