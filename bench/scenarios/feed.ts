/**
 * 7. Per-user feed: connected users in rooms of several members, each with one `myEvents`
 * subscription, at a fixed send rate; delivery latency and API CPU per delivery, next to the
 * same users each subscribed to their room's `messageAdded` in the same run.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import postgres from "postgres";
import { createTokenService } from "../../src/auth/tokens.js";
import { atRate, graphql, openMany, subscribe, type Subscriber } from "../lib/clients.js";
import { cpuMeter } from "../lib/procstat.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, type Stack } from "../lib/stack.js";
import { distribution, round } from "../lib/stats.js";

const SEND = `mutation($r: ID!, $b: String!, $c: String) { sendMessage(roomId: $r, body: $b, clientMessageId: $c) { seq } }`;
/** What a room list keeps current with: the message and the viewer's unread count (per viewer). */
const FEED = `subscription { myEvents { ... on MessageAddedEvent { roomId unreadCount message { seq clientMessageId } } } }`;
const ROOM = `subscription($r: ID!) { messageAdded(roomId: $r) { roomId seq clientMessageId } }`;

interface Options {
  users: number;
  rooms: number;
  rate: number;
  seconds: number;
}

/** Users and rooms written straight to the database (signing up 1,000 users costs a minute of scrypt). */
async function fixture(chat: Chat, stack: Stack, opts: Options) {
  const { sender } = await createFixture(chat.url, 0);
  const db = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} });
  const tokens = createTokenService(chat.env.JWT_SECRET!, "1d");
  try {
    const users = Array.from({ length: opts.users }, () => randomUUID());
    const rooms = Array.from({ length: opts.rooms }, () => randomUUID());
    const [owner] = await db<Array<{ hash: string }>>`select password_hash as hash from users where id = ${sender.id}`;
    const hash = owner!.hash;
    await db`insert into users ${db(users.map((id) => ({ id, username: `f_${id.slice(0, 23).replace(/-/g, "")}`, display_name: "Feed", password_hash: hash })))}`;
    await db`insert into rooms ${db(rooms.map((id, i) => ({ id, name: `feed ${i}`, creator_id: sender.id })))}`;
    const members = [
      ...rooms.map((room_id) => ({ room_id, user_id: sender.id })),
      ...users.map((user_id, i) => ({ room_id: rooms[i % opts.rooms]!, user_id })),
    ];
    await db`insert into room_members ${db(members)}`;
    const viewers = await Promise.all(
      users.map(async (id, i) => ({
        room: rooms[i % opts.rooms]!,
        token: await tokens.issue({ userId: id, epoch: 0, sessionId: randomUUID() }),
      })),
    );
    return { sender, rooms, viewers };
  } finally {
    await db.end();
  }
}

export async function feedScenario(stack: Stack, opts: Options, log: (l: string) => void): Promise<Row[]> {
  const chat = await Chat.start(Chat.env(stack), { api: true, workers: 1 });
  try {
    const { sender, rooms, viewers } = await fixture(chat, stack, opts);
    const perRoom = opts.users / opts.rooms;
    const measure = async (kind: "myEvents" | "messageAdded") => {
      const pending = new Map<string, { started: number; remaining: number }>();
      const latencies: number[] = [];
      const onData = (data: any, at: number) => {
        const id = (data.myEvents?.message ?? data.messageAdded)?.clientMessageId;
        const entry = pending.get(id);
        if (!entry) return;
        latencies.push(at - entry.started);
        if (--entry.remaining === 0) pending.delete(id);
      };
      log(`feed: ${opts.users} users open a ${kind} subscription each`);
      const subs: Subscriber[] = await openMany(opts.users, 50, (i) =>
        subscribe(
          chat.url.replace(/^http/, "ws"),
          viewers[i]!.token,
          kind === "myEvents" ? FEED : ROOM,
          {
            r: viewers[i]!.room,
          },
          onData,
        ),
      );
      try {
        // Warm-up: every room once, until each subscriber has had a delivery.
        await Promise.all(
          rooms.map((r, i) => graphql(chat.url, SEND, { r, b: "warm-up", c: `${kind}-w${i}` }, sender.token)),
        );
        await new Promise((r) => setTimeout(r, 2000));
        log(`feed: ${kind}, ${opts.rate} msg/s for ${opts.seconds} s over ${opts.rooms} rooms of ${perRoom} members`);
        const cpu = cpuMeter(chat.api!.pid);
        const sent = await atRate(opts.rate, opts.seconds, (i) => {
          const c = `${kind}-${i}`;
          pending.set(c, { started: performance.now(), remaining: perRoom });
          void graphql(chat.url, SEND, { r: rooms[i % opts.rooms], b: `message ${i}`, c }, sender.token).catch(
            () => {},
          );
        });
        const deadline = Date.now() + 30_000;
        while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const cpuUsPerDelivery = (cpu() * 1000) / Math.max(1, latencies.length);
        return { sent, expected: sent * perRoom, latency: distribution(latencies), cpuUsPerDelivery };
      } finally {
        subs.forEach((s) => s.close());
      }
    };
    const baseline = await measure("messageAdded");
    const ours = await measure("myEvents");
    const scenario = `7. feed, ${opts.users} users in ${opts.rooms} rooms @${opts.rate} msg/s`;
    const details = { ours, messageAdded: baseline };
    return [
      ...(["p50", "p99"] as const).map((p) =>
        row({
          scenario,
          figure: `delivery ${p}`,
          value: round(ours.latency[p], 1),
          unit: "ms",
          baselineName: "messageAdded, same users",
          baseline: round(baseline.latency[p], 1),
          lowerIsBetter: true,
          details: p === "p50" ? details : undefined,
        }),
      ),
      row({
        scenario,
        figure: "API CPU per delivery (sends included)",
        value: round(ours.cpuUsPerDelivery, 1),
        unit: "µs",
        baselineName: "messageAdded, same users",
        baseline: round(baseline.cpuUsPerDelivery, 1),
        lowerIsBetter: true,
      }),
      row({
        scenario,
        figure: "delivered",
        value: ours.latency.count,
        unit: "deliveries",
        baselineName: "expected",
        baseline: ours.expected,
        target: "all",
        met: ours.latency.count === ours.expected,
      }),
    ];
  } finally {
    await chat.stop();
  }
}
