/**
 * 2. Send throughput: sustained, acknowledged sendMessage calls per second from closed loops,
 * ours against the conventional stack (see cost.ts) under the same load. Bare Apollo
 * answering `{ __typename }` is printed beside them as the ceiling of HTTP + GraphQL alone on
 * this machine (a send that stores a message cannot reach it: at about 1 CPU-ms per message
 * over all processes, two cores bound any stack near 2,000 msg/s).
 */
import postgres from "postgres";
import { closedLoop, graphql, subscribe } from "../lib/clients.js";
import { startBaseline } from "../lib/processes.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, type Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";
import { startPeer, type Target } from "./cost.js";

const SEND = `mutation($r: ID!, $b: String!, $c: String) { sendMessage(roomId: $r, body: $b, clientMessageId: $c) { seq } }`;

interface Options {
  seconds: number;
  concurrency: number;
  rooms: number;
}

interface Sent {
  perSecond: number;
  completed: number;
  failed: number;
  delivered: number;
}

/** Closed-loop sends for `seconds` after a warm-up; one subscriber per room checks that acknowledged messages arrive. */
async function sustainedSends(target: Target, opts: Options, log: (l: string) => void, name: string): Promise<Sent> {
  let delivered = 0;
  const subscribers = await Promise.all(
    target.rooms.map((r) =>
      subscribe(
        target.url.replace(/^http/, "ws"),
        target.readerToken,
        `subscription($r: ID!) { messageAdded(roomId: $r) { clientMessageId } }`,
        { r },
        (data) => void (data.messageAdded.clientMessageId?.startsWith("t-") && delivered++),
      ),
    ),
  );
  try {
    const send = (i: number, prefix: string) =>
      graphql(
        target.url,
        SEND,
        { r: target.rooms[i % target.rooms.length], b: `message ${i}`, c: `${prefix}-${i}` },
        target.senderToken,
      );
    await closedLoop(opts.concurrency, 2, (i) => send(i, "w"));
    log(`throughput: ${name}, ${opts.concurrency} concurrent senders for ${opts.seconds} s`);
    const sent = await closedLoop(opts.concurrency, opts.seconds, (i) => send(i, "t"));
    const deadline = Date.now() + 20_000;
    while (delivered < sent.completed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return { ...sent, delivered };
  } finally {
    subscribers.forEach((s) => s.close());
  }
}

export async function throughputScenario(stack: Stack, opts: Options, log: (l: string) => void): Promise<Row[]> {
  const chat = await Chat.start(Chat.env(stack), { api: true, workers: 1 });
  let ours: Sent;
  try {
    const fixture = await createFixture(chat.url, opts.rooms);
    const { sender, reader, rooms } = fixture;
    const target = { url: chat.url, senderToken: sender.token, readerToken: reader.token, rooms };
    ours = await sustainedSends(target, opts, log, "ours");
  } finally {
    await chat.stop();
  }

  const sqlClient = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  let peer: Sent;
  try {
    const conventional = await startPeer("conventional", stack, opts, sqlClient);
    try {
      peer = await sustainedSends(conventional.target, opts, log, "conventional stack");
    } finally {
      await conventional.stop();
    }
  } finally {
    await sqlClient.end();
  }

  log(`throughput: bare Apollo Server answering { __typename }`);
  const bare = await startBaseline("bareApollo.ts");
  let ceiling: { perSecond: number };
  try {
    const url = `${bare.origin}/graphql`;
    await closedLoop(opts.concurrency, 2, () => graphql(url, "{ __typename }"));
    ceiling = await closedLoop(opts.concurrency, opts.seconds, () => graphql(url, "{ __typename }"));
  } finally {
    await bare.stop();
  }
  const scenario = `2. send throughput, ${opts.concurrency} concurrent`;
  return [
    row({
      scenario,
      figure: "acknowledged/s",
      value: round(ours.perSecond, 0),
      unit: "req/s",
      baselineName: "conventional stack, same load",
      baseline: round(peer.perSecond, 0),
      target: ">= 0.7x peer",
      met: ours.perSecond >= 0.7 * peer.perSecond,
      details: { ours, conventional: peer },
    }),
    row({
      scenario,
      figure: "acknowledged/s, against GraphQL alone",
      value: round(ours.perSecond, 0),
      unit: "req/s",
      baselineName: "bare Apollo { __typename }",
      baseline: round(ceiling.perSecond, 0),
    }),
  ];
}
