/**
 * The abuse suite's canary, in a process of its own so that the attacker's work in the test
 * process cannot delay its clock: two users in a room, one sends a message every 125 ms, the
 * other times each arrival. Prints "ready" once chatting; on "stop" (stdin) prints its figures
 * as JSON and exits. Env: CANARY_URL (the API's /graphql URL).
 */
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const url = process.env.CANARY_URL!;

/** One operation over HTTP (this process runs outside vitest, so not the test harness). */
async function gql(query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

async function signUp() {
  const username = `canary_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const { data } = await gql(
    `mutation($u: String!) { signUp(username: $u, password: "correct horse battery", displayName: "Canary") { token user { id } } }`,
    { u: username },
  );
  return { id: data.signUp.user.id as string, token: data.signUp.token as string };
}

const [a, b] = await Promise.all([signUp(), signUp()]);
await gql(`mutation($ids: [ID!]!) { addFriends(userIds: $ids) { id } }`, { ids: [b.id] }, a.token);
const room = (
  await gql(`mutation($ids: [ID!]!) { createRoom(name: "canary", memberIds: $ids) { id } }`, { ids: [b.id] }, a.token)
).data.createRoom.id as string;
const sentAt = new Map<number, number>();
const latencies: number[] = [];
let failedSends = 0;
/** Deliveries slower than this are listed with when they arrived, to line them up with the probes' start times. */
const SLOW_MS = 250;
const slow: string[] = [];

const client = createClient({
  url: url.replace(/^http/, "ws"),
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${b.token}` },
});
await new Promise<void>((resolve, reject) => {
  client.subscribe<{ messageAdded: { body: string } }>(
    { query: `subscription($r: ID!) { messageAdded(roomId: $r) { body } }`, variables: { r: room } },
    {
      next: ({ data }) => {
        const at = sentAt.get(Number(data?.messageAdded.body));
        if (at === undefined) return;
        const latency = performance.now() - at;
        latencies.push(latency);
        if (latency > SLOW_MS)
          slow.push(`${new Date().toISOString()} #${data?.messageAdded.body}: ${latency.toFixed(0)} ms`);
      },
      error: reject,
      complete: () => {},
    },
  );
  client.on("connected", () => setTimeout(resolve, 500)); // the subscription is registered by then
});

let n = 0;
/** Counts a send that failed, and says why (the suite prints the canary's stderr). */
function failed(i: number, why: string) {
  failedSends++;
  console.error(`[canary] send ${i} failed: ${why}`);
}

/**
 * Under the default messages-per-user limit (100 in a fixed 10 s window): at one send per
 * 100 ms, exactly that rate, the 101st send was refused whenever the API got it less than 10 s
 * after the window's first (its request a little faster than that one's): TOO_MANY_REQUESTS
 * on send 100 in a CI run.
 */
const SEND_EVERY_MS = 125;

const timer = setInterval(() => {
  const i = n++;
  sentAt.set(i, performance.now());
  void gql(
    `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { seq } }`,
    { r: room, b: String(i) },
    a.token,
  ).then(
    (result) => result.errors && failed(i, JSON.stringify(result.errors)),
    (error: Error) => failed(i, error.message),
  );
}, SEND_EVERY_MS);
console.log("ready");

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== "stop") continue;
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 1000)); // the last sends' deliveries
  if (slow.length > 0) console.error(`[canary] deliveries over ${SLOW_MS} ms:\n${slow.join("\n")}`);
  console.log(JSON.stringify({ sent: n, failedSends, latencies }));
  await client.dispose();
  process.exit(0);
}
