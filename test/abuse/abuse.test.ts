/**
 * `npm run test:abuse`: the probes of issue 9, replayed by a signed-in attacker against real
 * api and worker processes in production mode with the default limits, while a canary pair of
 * users keeps chatting. Each probe asserts its outcome; at the end the canary must have
 * received every message it sent, with a p99 under 500 ms.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { networkInterfaces, setPriority } from "node:os";
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { createInterface } from "node:readline";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, expect, inject, it } from "vitest";
import postgres from "postgres";
import WebSocket from "ws";
import { AppProcess } from "../../scripts/app-process.js";
import { trustedDocumentsFile } from "../../src/shared/paths.js";
import {
  createRoom,
  errorCode,
  gql,
  gqlOk,
  signUp,
  TestSubscription,
  wsClient,
  type GraphQLResponse,
  type TestUser,
} from "../support/harness.js";

const env = {
  NODE_ENV: "production",
  JWT_SECRET: randomBytes(36).toString("base64"),
  DATABASE_URL: inject("databaseUrl"),
  KAFKA_BROKERS: inject("kafkaBrokers"),
  KAFKA_TOPIC_PREFIX: `abuse-${randomUUID().slice(0, 8)}.`,
  KAFKA_TOPIC_PARTITIONS: "3",
  HOST: "0.0.0.0",
  // The suite signs up a few hundred users of its own from one address (the limit itself is tested in rateLimits.test.ts).
  RATE_LIMIT_SIGNUP_PER_ADDRESS: "10000",
};
let workers: AppProcess[];
let api: AppProcess;
/** The canary chats through this one: the attacks on `api` must not stall another process's users. */
let canaryApi: AppProcess;
let url: string;
let wsUrl: string;
let attacker: TestUser;
let victim: TestUser;
let sharedRoom: string;

interface CanaryFigures {
  sent: number;
  failedSends: number;
  latencies: number[];
}
const canary = { stop: async (): Promise<CanaryFigures | null> => null };
const trustedManifest = JSON.parse(readFileSync(trustedDocumentsFile, "utf8")) as Record<string, string>;

beforeAll(async () => {
  // Two workers, so that commands under different keys (leave and save) can meet.
  workers = await Promise.all([AppProcess.start("worker", env), AppProcess.start("worker", env)]);
  [api, canaryApi] = await Promise.all([AppProcess.start("api", env), AppProcess.start("api", env)]);
  url = api.url;
  wsUrl = url.replace(/^http/, "ws");
  [attacker, victim] = await Promise.all([signUp(url), signUp(url)]);
  sharedRoom = await createRoom(url, victim!, [attacker!]);
  await startCanary();
});

afterAll(async () => {
  await canary.stop().catch(() => null);
  await Promise.all([api?.stop(), canaryApi?.stop(), ...(workers ?? []).map((w) => w.stop())]);
});

// When each probe starts, to line up with the canary's slow deliveries if it has any.
beforeEach((ctx) => console.log(`[abuse] ${new Date().toISOString()} ${ctx.task.name}`));

/**
 * A process that must refuse its configuration and exit (probes 7 and 17), at the lowest CPU
 * priority: on a 2-core machine its start (tsx loading the entry point) would otherwise take
 * a core from the processes the canary measures, which is not what those probes test.
 */
function misconfiguredApi(extraEnv: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "api"], {
    env: { ...process.env, ...env, PORT: "0", ...extraEnv },
  });
  try {
    setPriority(child.pid!, 19);
  } catch {
    // Not allowed here: it runs at the default priority.
  }
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return new Promise<{ status: unknown; stderr: string }>((resolve) =>
    child.once("exit", (status) => resolve({ status, stderr })),
  );
}

/** The canary (canary.ts) in a process of its own; `stop()` returns its figures. */
async function startCanary() {
  const child = spawn(process.execPath, ["--import", "tsx", "test/abuse/canary.ts"], {
    env: { ...process.env, CANARY_URL: canaryApi.url },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== "ready") throw new Error(`the canary did not start: ${first.value}`);
  canary.stop = async () => {
    child.stdin!.write("stop\n");
    const figures = await lines.next();
    return JSON.parse(figures.value as string) as CanaryFigures;
  };
}

const NESTED = `query($r: ID!) { room(id: $r) { messages(last: 100) { room { messages(last: 100) { room { messages(last: 100) { id seq body } } } } } } }`;

it("1. refuses nested pages and alias floods before they run", async () => {
  expect(errorCode(await gql(url, NESTED, { r: sharedRoom }, attacker.token))).toBe("OPERATION_LIMIT_EXCEEDED");
  const aliases = `query($r: ID!) { ${Array.from({ length: 1000 }, (_, i) => `a${i}: room(id: $r) { messages(last: 100) { id } }`).join(" ")} }`;
  const flood = await gql(url, aliases, { r: sharedRoom }, attacker.token);
  expect(["OPERATION_LIMIT_EXCEEDED", "GRAPHQL_PARSE_FAILED"]).toContain(errorCode(flood));
});

it("2. a subscriber's root alias never reaches another subscriber", async () => {
  const clients = [wsClient(wsUrl, attacker.token), wsClient(wsUrl, victim.token)];
  const hijack = new TestSubscription(
    clients[0]!,
    `subscription($r: ID!) { hijacked: messageAdded(roomId: $r, afterSeq: 0) { seq } }`,
    { r: sharedRoom },
  );
  const plain = new TestSubscription(
    clients[1]!,
    `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { seq } }`,
    { r: sharedRoom },
  );
  try {
    await gqlOk(
      url,
      `mutation($r: ID!) { sendMessage(roomId: $r, body: "probe 2") { seq } }`,
      { r: sharedRoom },
      victim.token,
    );
    await plain.waitFor((s) => s.data.length >= 1, 20_000, "the message");
    await hijack.waitFor((s) => s.data.length >= 1, 20_000, "the message");
    expect(Object.keys(plain.data[0]!)).toEqual(["messageAdded"]);
    expect(Object.keys(hijack.data[0]!)).toEqual(["hijacked"]);
  } finally {
    hijack.close();
    plain.close();
    await Promise.all(clients.map((c) => c.dispose()));
  }
});

it("3-4. leaving by an upper-case id and logging out end the open streams", async () => {
  const [owner, member] = await Promise.all([signUp(url), signUp(url)]);
  const room = await createRoom(url, owner!, [member!]);
  await gqlOk(url, `mutation($r: ID!) { sendMessage(roomId: $r, body: "hi") { seq } }`, { r: room }, owner!.token);
  const client = wsClient(wsUrl, member!.token);
  const sub = new TestSubscription(client, `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { seq } }`, {
    r: room,
  });
  await sub.waitFor((s) => s.data.length === 1, 20_000, "the first message");
  await gqlOk(url, `mutation($r: ID!) { leaveRoom(roomId: $r) }`, { r: room.toUpperCase() }, member!.token);
  await sub.waitFor((s) => s.completed, 20_000, "the stream to end");
  expect(sub.results.at(-1)?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

  const own = await createRoom(url, member!, []);
  await gqlOk(url, `mutation($r: ID!) { sendMessage(roomId: $r, body: "hi") { seq } }`, { r: own }, member!.token);
  const second = new TestSubscription(
    client,
    `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { seq } }`,
    { r: own },
  );
  await second.waitFor((s) => s.data.length === 1, 20_000, "the first message");
  await gqlOk(url, `mutation { logOut }`, {}, member!.token);
  await second.waitFor((s) => s.completed, 20_000, "the socket to close");
  expect((second.error as { code?: number }).code).toBe(4401);
  await client.dispose();
});

it("5. caps subscriptions per socket, closes a socket that floods, and closes sockets without a valid token", async () => {
  const socket = new WebSocket(wsUrl, "graphql-transport-ws");
  const messages: Array<{ type: string; id?: string; payload?: Array<{ extensions?: { code?: string } }> }> = [];
  socket.on("message", (raw) => messages.push(JSON.parse(String(raw))));
  const closedWith = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  await new Promise((resolve) => socket.once("open", resolve));
  socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${attacker.token}` } }));
  while (!messages.some((m) => m.type === "connection_ack")) await new Promise((r) => setTimeout(r, 20));
  // All in one write, so that the server reads hundreds of frames at a time (as CI's did).
  const raw = (socket as unknown as { _socket: import("node:net").Socket })._socket;
  raw.cork();
  for (let i = 0; i < 5000; i++)
    socket.send(
      JSON.stringify({
        type: "subscribe",
        id: String(i),
        payload: { query: `subscription($r: ID!) { messageAdded(roomId: $r) { seq } }`, variables: { r: sharedRoom } },
      }),
    );
  raw.uncork();
  // The 101st subscription on a socket is refused; the 301st message in a second closes it.
  expect(await closedWith).toBe(4429);
  const refused = messages.filter(
    (m) => m.type === "error" && m.payload?.[0]?.extensions?.code === "TOO_MANY_SUBSCRIPTIONS",
  );
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.length).toBeLessThanOrEqual(200);
  expect(Number(refused[0]!.id)).toBe(100);

  const anonymous = new WebSocket(wsUrl, "graphql-transport-ws");
  const closed = new Promise<number>((resolve) => anonymous.once("close", (code) => resolve(code)));
  await new Promise((resolve) => anonymous.once("open", resolve));
  anonymous.send(JSON.stringify({ type: "connection_init", payload: {} }));
  expect(await closed).toBe(4401);
});

it("6. throttles password guessing and hides which usernames exist", async () => {
  const LOG_IN = `mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token } }`;
  const codes: unknown[] = [];
  for (let i = 0; i < 30; i++) codes.push(errorCode(await gql(url, LOG_IN, { u: victim.username, p: `guess ${i}` })));
  expect(codes.slice(0, 10).every((c) => c === "UNAUTHENTICATED")).toBe(true);
  expect(codes.slice(10).every((c) => c === "TOO_MANY_REQUESTS")).toBe(true);
  const time = async (u: string) => {
    const started = performance.now();
    await gql(url, LOG_IN, { u, p: "wrong password" });
    return performance.now() - started;
  };
  const existing = await signUp(url);
  const [known, unknown] = [await time(existing.username), await time(`nobody_${randomUUID().slice(0, 8)}`)];
  expect(unknown).toBeGreaterThan(known / 3); // same scrypt work for both (3.4 ms vs 41 ms before)
});

it("7. refuses the published secrets in production", async () => {
  const { status, stderr } = await misconfiguredApi({ JWT_SECRET: "dev-only-secret-change-me-dev-only-secret" });
  expect(status).toBe(2);
  expect(stderr).toContain("JWT_SECRET: is a default published");
});

it("8. answers bad input with BAD_USER_INPUT or NOT_FOUND per field, never an internal error", async () => {
  const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { seq } }`;
  for (const body of ["nul\u0000", "bell\u0007"])
    expect(errorCode(await gql(url, SEND, { r: sharedRoom, b: body }, attacker.token))).toBe("BAD_USER_INPUT");
  const twoUsers = await gql(
    url,
    `query($ok: ID!) { a: user(id: $ok) { id } b: user(id: "------------------------------------") { id } }`,
    { ok: victim.id },
    attacker.token,
  );
  expect(twoUsers.data?.a).toEqual({ id: victim.id });
  expect(twoUsers.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  const cursor = Buffer.from(`-271821-04-20T00:00:00.000Z|${victim.id}`).toString("base64url");
  const saved = await gql(
    url,
    `query($a: String) { savedMessages(after: $a) { savedAt } }`,
    { a: cursor },
    attacker.token,
  );
  expect(errorCode(saved)).toBe("BAD_USER_INPUT");
});

it("9. discloses nothing it need not", async () => {
  const suggestion = await gql(url, `{ me { usernam } }`, {}, attacker.token);
  expect(suggestion.errors?.[0]?.message).not.toMatch(/Did you mean/);
  const badJson = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
  expect(badJson.headers.get("x-powered-by")).toBeNull();
  expect((await badJson.json()).errors[0].extensions.code).toBe("BAD_REQUEST");
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === "IPv4")?.address;
  expect(external).toBeDefined();
  expect((await fetch(`http://${external}:${new URL(url).port}/metrics`)).status).toBe(404);
  const seen = await gqlOk(url, `query($id: ID!) { user(id: $id) { lastLoginAt } }`, { id: victim.id }, attacker.token);
  expect(seen.user.lastLoginAt).toBeNull();
  const SIGN_UP = `mutation($u: String!, $d: String!) { signUp(username: $u, password: "correct horse battery", displayName: $d) { token } }`;
  expect(errorCode(await gql(url, SIGN_UP, { u: `bidi_${randomUUID().slice(0, 8)}`, d: "admin\u202e" }))).toBe(
    "BAD_USER_INPUT",
  );
});

/** A body of `n` characters, the largest a message may have by default at 4,000. */
const big = (tag: string, n = 4000) => `${tag} ${"x".repeat(n - tag.length - 1)}`;

/** An attacker's room with `count` messages of 4,000 characters, sent within the message rate limit. */
async function roomOfBigMessages(owner: TestUser, count: number): Promise<string> {
  const room = await createRoom(url, owner, []);
  for (let i = 0; i < count; i++)
    await gqlOk(
      url,
      `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { seq } }`,
      { r: room, b: big(`m${i}`) },
      owner.token,
    );
  return room;
}

/** A metric's value as one API process reports it to loopback clients. */
async function metric(process: AppProcess, name: string): Promise<number> {
  const text = await (await fetch(`${process.origin}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

const HEAP = "nodejs_heap_size_used_bytes";
let heapBefore = 0;

it("10. counts what a selection really costs: nested pages of big messages are refused, and an event past its byte limit is one error", async () => {
  heapBefore = await metric(api, HEAP);
  const owner = await signUp(url);
  const room = await roomOfBigMessages(owner, 80);
  // 12,180 by list items alone (allowed before, 24 MB of answer); 66,720 now that a body costs 10.
  const nested = `query($r: ID!) { room(id: $r) { messages(last: 60) { body room { messages(last: 100) { body } } } } }`;
  const refused = await gql(url, nested, { r: room }, owner.token);
  expect(errorCode(refused)).toBe("OPERATION_LIMIT_EXCEEDED");
  expect(refused.errors?.[0]?.extensions?.cost).toBeGreaterThan(20_000);
  // Within the cost limit, but each event would carry 80 x 4 KB: stopped at 256 KiB while built.
  const client = wsClient(wsUrl, owner.token);
  const heavy = new TestSubscription(
    client,
    `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 80) { seq room { messages(last: 100) { body } } } }`,
    { r: room },
  );
  // After seq 80: the next message reaches both whether it is stored before or after they start.
  const light = new TestSubscription(
    client,
    `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 80) { seq } }`,
    {
      r: room,
    },
  );
  try {
    await gqlOk(
      url,
      `mutation($r: ID!) { sendMessage(roomId: $r, body: "one more") { seq } }`,
      { r: room },
      owner.token,
    );
    await heavy.waitFor((s) => s.results.length >= 1, 20_000, "the heavy subscription's event");
    await light.waitFor((s) => s.data.length >= 1, 20_000, "the light subscription's event");
    expect(heavy.results[0]!.data ?? null).toBeNull();
    expect(heavy.results[0]!.errors?.[0]?.extensions).toMatchObject({ code: "RESPONSE_TOO_LARGE", limit: 262_144 });
    expect(light.data[0]).toEqual({ messageAdded: { seq: 81 } });
  } finally {
    heavy.close();
    light.close();
    await client.dispose();
  }
});

it("11. a user's budget is spent by what they read, on every API process, and queries and searches at once are capped", async () => {
  const reader = await signUp(url);
  const room = await roomOfBigMessages(reader, 40);
  const PAGE = `query($r: ID!) { room(id: $r) { messages(last: 100) { body } } }`;
  // Each page: about 1,200 estimated, then 1,600 for its 160 KB: 300,000 points a minute last ~100 pages.
  let spent: GraphQLResponse | undefined;
  for (let i = 0; i < 250 && !spent; i++) {
    const page = await gql(url, PAGE, { r: room }, reader.token);
    if (page.errors) spent = page;
  }
  expect(spent?.errors?.[0]?.extensions).toMatchObject({
    code: "TOO_MANY_REQUESTS",
    limit: expect.stringMatching(/^usage/),
  });
  // Told to the other API processes: each reads a reader's shared count at most every 10 s.
  await expect
    .poll(async () => errorCode(await gql(canaryApi.url, `{ me { id } }`, {}, reader.token)), {
      timeout: 15_000,
      interval: 1000,
    })
    .toBe("TOO_MANY_REQUESTS");

  const other = await signUp(url);
  const own = await createRoom(url, other, []);
  const SEARCH = `query($q: String!) { searchMessages(query: $q) { id } }`;
  const searches = await Promise.all(Array.from({ length: 20 }, () => gql(url, SEARCH, { q: "hello" }, other.token)));
  const busy = searches.filter((r) => errorCode(r) === "TOO_MANY_REQUESTS");
  expect(busy.length).toBeGreaterThanOrEqual(10);
  expect(busy[0]!.errors?.[0]?.extensions?.limit).toMatch(/^searches/);
  const pages = await Promise.all(
    Array.from({ length: 30 }, () =>
      gql(url, `query($r: ID!) { room(id: $r) { name members { id } } }`, { r: own }, other.token),
    ),
  );
  const capped = pages.filter((r) => errorCode(r) === "TOO_MANY_REQUESTS");
  expect(capped.length).toBeGreaterThan(0);
  expect(capped[0]!.errors?.[0]?.extensions?.limit).toBe("concurrentQueriesPerUser");
});

it("12. nothing an operation names is kept after it: long names are refused before they reach a cache", async () => {
  const long = `a${"b".repeat(5000)}`;
  const client = wsClient(wsUrl, attacker.token);
  const sub = new TestSubscription(client, `subscription($r: ID!) { ${long}: messageAdded(roomId: $r) { seq } }`, {
    r: sharedRoom,
  });
  try {
    await sub.waitFor((s) => s.completed, 10_000, "the refusal");
    expect(sub.results[0]?.errors?.[0]?.extensions?.code ?? (sub.error as any)?.[0]?.extensions?.code).toBe(
      "OPERATION_LIMIT_EXCEEDED",
    );
  } finally {
    await client.dispose();
  }
  const query = await gql(url, `query { ${long}: me { id } }`, {}, attacker.token);
  expect(errorCode(query)).toBe("OPERATION_LIMIT_EXCEEDED");
});

it("13. a member who left reads nothing of the room through any path, even when save and leave race on two workers", async () => {
  const db = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  try {
    // Five races at a time: forty at once would be the test's own load (80 scrypt sign-ups) on two cores.
    const race = async () => {
      const [owner, member] = await Promise.all([signUp(url), signUp(url)]);
      const room = await createRoom(url, owner, [member]);
      const { sendMessage } = await gqlOk(
        url,
        `mutation($r: ID!) { sendMessage(roomId: $r, body: "secret") { id } }`,
        { r: room },
        owner.token,
      );
      await Promise.all([
        gql(url, `mutation($m: ID!) { saveMessage(messageId: $m) { savedAt } }`, { m: sendMessage.id }, member.token),
        gql(url, `mutation($r: ID!) { leaveRoom(roomId: $r) }`, { r: room }, member.token),
      ]);
      return { member, room, messageId: sendMessage.id as string };
    };
    const tries = [];
    for (let i = 0; i < 8; i++) tries.push(...(await Promise.all(Array.from({ length: 5 }, race))));
    // The guard is in the database: no saved copy outlives its saver's membership.
    const orphans = await db`
      select count(*)::int as n from saved_messages s join messages m on m.id = s.message_id
      where s.message_id = any(${tries.map((t) => t.messageId)}::uuid[])
        and not exists (select 1 from room_members r where r.room_id = m.room_id and r.user_id = s.user_id)`;
    expect(orphans[0]!.n).toBe(0);
    const { member, room } = tries[0]!;
    const saved = await gqlOk(url, `{ savedMessages { message { id } } }`, {}, member.token);
    expect(saved.savedMessages).toEqual([]);
    // A message of the room reached another way (a search cursor) answers as an unknown id.
    const probe = `query($a: String) { searchMessages(query: "secret", after: $a) { id } }`;
    const foreign = await gql(url, probe, { a: tries[0]!.messageId }, member.token);
    const unknown = await gql(url, probe, { a: randomUUID() }, member.token);
    expect(foreign.errors?.[0]).toEqual(unknown.errors?.[0]);
    expect(errorCode(await gql(url, `query($r: ID!) { room(id: $r) { name } }`, { r: room }, member.token))).toBe(
      "FORBIDDEN",
    );
  } finally {
    await db.end();
  }
});

it("14. a stranger's guesses do not lock the owner out, and sign-up does not tell which emails are registered", async () => {
  const owner = await signUp(url);
  const LOG_IN = `mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token } }`;
  // From another loopback address: a stranger's guesses, not the owner's.
  const guess = (p: string) =>
    new Promise<GraphQLResponse>((resolve, reject) => {
      const request = httpRequest(
        url,
        { method: "POST", localAddress: "127.0.0.2", headers: { "content-type": "application/json" } },
        (response) => {
          let text = "";
          response.on("data", (chunk) => (text += chunk));
          response.on("end", () => resolve(JSON.parse(text) as GraphQLResponse));
        },
      );
      request.on("error", reject);
      request.end(JSON.stringify({ query: LOG_IN, variables: { u: owner.username, p } }));
    });
  const codes = [];
  for (let i = 0; i < 15; i++) codes.push(errorCode(await guess(`guess ${i}`)));
  expect(codes.slice(10).every((c) => c === "TOO_MANY_REQUESTS")).toBe(true);
  expect((await gqlOk(url, LOG_IN, { u: owner.username, p: "correct horse battery" })).logIn.token).toBeTruthy();

  const SIGN_UP = `mutation($u: String!, $e: String) { signUp(username: $u, password: "correct horse battery", displayName: "E", email: $e) { user { id } } }`;
  const email = `${randomUUID().slice(0, 8)}@example.com`;
  const first = await gql(url, SIGN_UP, { u: `e_${randomUUID().slice(0, 8)}`, e: email });
  const second = await gql(url, SIGN_UP, { u: `e_${randomUUID().slice(0, 8)}`, e: email });
  expect(first.errors).toBeUndefined();
  expect(second.errors).toBeUndefined();
});

it("15. before signing in, a socket is small and few: init size, bytes, nesting and sockets per address", async () => {
  const open = async () => {
    const socket = new WebSocket(wsUrl, "graphql-transport-ws");
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    return { socket, closed };
  };
  const huge = await open();
  huge.socket.send(JSON.stringify({ type: "connection_init", payload: { junk: "x".repeat(900_000) } }));
  expect(await huge.closed).toBe(4400);

  const nested = await open();
  nested.socket.send(
    JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${attacker.token}` } }),
  );
  await new Promise((resolve) =>
    nested.socket.on("message", (raw) => JSON.parse(String(raw)).type === "connection_ack" && resolve(null)),
  );
  const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
  nested.socket.send(`{"type":"subscribe","id":"1","payload":{"query":"{ me { id } }","variables":{"v":${deep}}}}`);
  expect(await nested.closed).toBe(4400);
  const httpDeep = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: `{"query":"{ me { id } }","variables":{"v":${deep}}}`,
  });
  expect(httpDeep.status).toBe(400);
  expect((await httpDeep.json()).errors[0].message).toMatch(/deeper than 32/);

  const sockets = await Promise.all(Array.from({ length: 30 }, open));
  const codes = await Promise.race([
    Promise.all(sockets.slice(10).map((s) => s.closed)),
    new Promise((r) => setTimeout(() => r("still open"), 5000)),
  ]);
  expect(codes).toEqual(Array(20).fill(1013)); // Try Again Later: clients retry it
  for (const s of sockets.slice(0, 10)) s.socket.close();
});

it("16. names refuse what renders blank or hides, and lastSeenAt is not written per reconnect", async () => {
  const SIGN_UP = `mutation($u: String!, $d: String!) { signUp(username: $u, password: "correct horse battery", displayName: $d) { token } }`;
  for (const name of ["\u3164", "a\u061Cb", "x\u{E0041}\u{E0042}", "\u2800", "ad\u00ADmin", "\u115F\u1160", "\uFFA0"]) {
    const result = await gql(url, SIGN_UP, { u: `n_${randomUUID().slice(0, 8)}`, d: name });
    expect(errorCode(result), JSON.stringify(name)).toBe("BAD_USER_INPUT");
  }
  const before = await metric(api, `chat_commands_produced_total{type="RecordLastSeen"}`);
  const openBefore = await metric(api, "chat_websocket_connections");
  const user = await signUp(url);
  for (let i = 0; i < 20; i++) {
    const client = wsClient(wsUrl, user.token);
    await new Promise((resolve) => client.on("connected", resolve)); // signed in: its close is a disconnect
    await client.dispose();
  }
  // Every one of the twenty closes has reached the API.
  await expect.poll(() => metric(api, "chat_websocket_connections"), { timeout: 10_000 }).toBe(openBefore);
  expect((await metric(api, `chat_commands_produced_total{type="RecordLastSeen"}`)) - before).toBeLessThanOrEqual(2);
});

it("17. refuses a weak production secret, and serves the published one on loopback only", async () => {
  const weak = await misconfiguredApi({ JWT_SECRET: "a".repeat(40) });
  expect(weak.status).toBe(2);
  expect(weak.stderr).toMatch(/JWT_SECRET: has about 0 bits of entropy/);
  const published = await misconfiguredApi({ NODE_ENV: "development", JWT_SECRET: "", HOST: "0.0.0.0" });
  expect(published.status).toBe(2);
  expect(published.stderr).toMatch(
    /HOST: 0.0.0.0 would let anyone on the network use tokens signed with the published/,
  );
});

it("18. with TRUSTED_DOCUMENTS=only, every crafted document is refused unparsed, over HTTP and WebSocket", async () => {
  const only = await AppProcess.start("api", { ...env, TRUSTED_DOCUMENTS: "only" });
  try {
    const deep = `query { ${"me { friends { ".repeat(50)}id${" } }".repeat(50)} }`;
    const crafted = [
      NESTED,
      deep,
      "{ __schema { types { name } } }",
      `query { ${"(".repeat(100_000)} }`,
      "{ me { id } } ".repeat(5000),
    ];
    for (const query of crafted) {
      const refused = await gql(only.url, query, { r: sharedRoom }, attacker.token);
      expect(errorCode(refused), query.slice(0, 30)).toBe("TRUSTED_DOCUMENT_REQUIRED");
    }
    const client = wsClient(only.url.replace(/^http/, "ws"), attacker.token);
    try {
      const sub = new TestSubscription(
        client,
        `subscription { messageAdded(roomId: "${sharedRoom}") { a: id b: body } }`,
        {},
      );
      await sub.waitFor((s) => s.completed, 10_000, "the refusal");
      expect((sub.error as GraphQLResponse["errors"])?.[0]?.extensions?.code).toBe("TRUSTED_DOCUMENT_REQUIRED");
    } finally {
      await client.dispose();
    }
    // The web client's own operations still work there, by hash.
    const [hash] = Object.entries(trustedManifest).find(([, text]) => text.startsWith("query Me "))!;
    const me = await fetch(only.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${attacker.token}` },
      body: JSON.stringify({ documentId: hash }),
    });
    expect(((await me.json()) as GraphQLResponse).data?.me.id).toBe(attacker.id);
  } finally {
    await only.stop();
  }
});

it("no API process holds on to what the attacks sent: heap within 50 MB of where it started", async () => {
  await expect
    .poll(async () => (await metric(api, HEAP)) - heapBefore, { timeout: 30_000, interval: 1000 })
    .toBeLessThan(50 * 1024 * 1024);
});

it("the canary kept chatting through every probe: all delivered, p99 under 500 ms", async () => {
  const figures = (await canary.stop())!;
  canary.stop = async () => null;
  const latencies = [...figures.latencies].sort((a, b) => a - b);
  const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? Infinity;
  console.log(
    `[abuse] canary: sent=${figures.sent} delivered=${latencies.length} failed=${figures.failedSends} p99=${p99.toFixed(0)} ms`,
  );
  expect(figures.failedSends).toBe(0);
  expect(latencies.length).toBe(figures.sent);
  expect(p99).toBeLessThan(500);
});
