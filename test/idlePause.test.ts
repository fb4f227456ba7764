/**
 * An API process that serves nobody pauses its event consumer (API_IDLE_PAUSE_MS), so other
 * processes' traffic costs it nothing, and loses nothing by it: the first client resumes it,
 * and what events keep current (cached sessions, command answers, live streams, resumes by
 * seq) is as current as on a process that never paused. Real worker, two API processes: A
 * never pauses, B pauses after 300 ms without clients.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { AppProcess, waitUntil } from "../scripts/app-process.js";
import {
  createRoom,
  errorCode,
  gql,
  gqlOk,
  processEnv,
  signUp,
  TestSubscription,
  wsClient,
} from "./support/harness.js";

const env = processEnv("idle-pause");
let worker: AppProcess;
let a: AppProcess;
let b: AppProcess;
const clients: Array<{ dispose(): unknown }> = [];

beforeAll(async () => {
  worker = await AppProcess.start("worker", env);
  [a, b] = await Promise.all([
    AppProcess.start("api", { ...env, API_IDLE_PAUSE_MS: "0" }),
    AppProcess.start("api", { ...env, API_IDLE_PAUSE_MS: "300" }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await Promise.all([a?.stop(), b?.stop(), worker?.stop()]);
});

const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { seq } }`;
const ME = `{ me { id } }`;
const paused = (app: AppProcess) => app.metric("chat_event_consumer_paused");
const untilPaused = (app: AppProcess) =>
  waitUntil(async () => (await paused(app)) === 1, 20_000, "the idle API process to pause its consumer");

it("pauses a process with no clients and never one that must not pause", async () => {
  await untilPaused(b);
  expect(await paused(a)).toBe(0);
});

it("refuses a session ended elsewhere while it was paused, though it had cached it", async () => {
  const alice = await signUp(a.url);
  expect((await gqlOk(b.url, ME, {}, alice.token)).me.id).toBe(alice.id); // B caches the session
  await untilPaused(b);
  await gqlOk(a.url, `mutation { logOut }`, {}, alice.token);
  expect((await gqlOk(b.url, ME, {}, alice.token)).me).toBeNull(); // signed out
  expect(await paused(b)).toBe(0);
});

it("answers a command sent to it while it was paused", async () => {
  const alice = await signUp(a.url);
  const room = await createRoom(a.url, alice, []);
  await untilPaused(b);
  const sent = await gqlOk(b.url, SEND, { r: room, b: "to a sleeping process" }, alice.token);
  expect(sent.sendMessage.seq).toBe(1);
});

it("streams what was sent while it was paused (afterSeq) and then live, without a gap", async () => {
  const alice = await signUp(a.url);
  const room = await createRoom(a.url, alice, []);
  await untilPaused(b);
  for (let i = 1; i <= 3; i++) await gqlOk(a.url, SEND, { r: room, b: `while paused ${i}` }, alice.token);
  const client = wsClient(b.url.replace(/^http/, "ws"), alice.token);
  clients.push(client);
  const sub = new TestSubscription<{ messageAdded: { seq: number; body: string } }>(
    client,
    `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { seq body } }`,
    { r: room },
  );
  await sub.waitFor((s) => s.data.length >= 3, 20_000, "the messages sent while paused");
  for (let i = 4; i <= 6; i++) await gqlOk(a.url, SEND, { r: room, b: `after waking ${i}` }, alice.token);
  await sub.waitFor((s) => s.data.length >= 6, 20_000, "the live messages");
  expect(sub.data.map((d) => d.messageAdded.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(await paused(b)).toBe(0); // a subscriber keeps it awake
});
