/**
 * Reports and the moderation consumer as separate processes (api, worker, moderation) over
 * real Kafka and PostgreSQL: it hides what enough members report and mutes a flooding
 * sender, and while it is down nothing on the chat path waits for it.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { AppProcess, waitUntil } from "../scripts/app-process.js";
import {
  befriend,
  createRoom,
  errorCode,
  gql,
  gqlOk,
  signUp,
  TestSubscription,
  wsClient,
  type TestUser,
  processEnv,
} from "./support/harness.js";

const env = processEnv("moderation", { MODERATION_REPORTS_TO_HIDE: "2", MODERATION_FLOOD_ROOMS: "3" });
let worker: AppProcess;
let api: AppProcess;
let moderation: AppProcess;

beforeAll(async () => {
  worker = await AppProcess.start("worker", env);
  [api, moderation] = await Promise.all([AppProcess.start("api", env), AppProcess.start("moderation", env)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop(), moderation?.stop()]);
});

const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }`;
const REPORT = `mutation($m: ID!, $why: String!) { reportMessage(messageId: $m, reason: $why) }`;
const HISTORY = `query($r: ID!) { room(id: $r) { messages { id body hidden } } }`;

async function roomOfFour() {
  const [alice, bob, carol, dave] = await Promise.all([
    signUp(api.url),
    signUp(api.url),
    signUp(api.url),
    signUp(api.url),
  ]);
  await befriend(api.url, alice, [bob, carol, dave]);
  return { alice, bob, carol, dave, room: await createRoom(api.url, alice, [bob, carol, dave]) };
}

const shown = async (user: TestUser, room: string, id: string) =>
  (await gqlOk(api.url, HISTORY, { r: room }, user.token)).room.messages.find((m: { id: string }) => m.id === id);

it("hides a message for everyone once enough members reported it, whoever reports twice", async () => {
  const { alice, bob, carol, dave, room } = await roomOfFour();
  const rude = (await gqlOk(api.url, SEND, { r: room, b: "something rude" }, dave.token)).sendMessage.id;
  expect((await gqlOk(api.url, REPORT, { m: rude, why: "rude" }, bob.token)).reportMessage).toBe(true);
  expect((await gqlOk(api.url, REPORT, { m: rude, why: "rude, again" }, bob.token)).reportMessage).toBe(true);
  expect(errorCode(await gql(api.url, REPORT, { m: rude, why: "" }, carol.token))).toBe("BAD_USER_INPUT");
  // One reporter, twice, hides nothing.
  expect(await shown(alice, room, rude)).toEqual({ id: rude, body: "something rude", hidden: false });
  await gqlOk(api.url, REPORT, { m: rude, why: "rude" }, carol.token);
  await waitUntil(async () => (await shown(alice, room, rude)).hidden, 20_000, "the message to be hidden");
  expect(await shown(dave, room, rude)).toEqual({ id: rude, body: "", hidden: true });
});

it("mutes a sender who floods the same text across rooms, saying until when", async () => {
  const { alice, bob } = await roomOfFour();
  const rooms = await Promise.all([1, 2, 3, 4].map((i) => createRoom(api.url, alice, [bob], `room ${i}`)));
  for (const room of rooms.slice(0, 3)) await gqlOk(api.url, SEND, { r: room, b: "BUY NOW cheap" }, alice.token);
  let refusal: Awaited<ReturnType<typeof gql<Record<string, unknown>>>> | undefined;
  await waitUntil(
    async () => {
      refusal = await gql(api.url, SEND, { r: rooms[3], b: "hello?" }, alice.token);
      return errorCode(refusal) === "MUTED";
    },
    20_000,
    "the sender to be muted",
  );
  expect(refusal!.errors![0]!.message).toMatch(/muted until \d{4}-\d\d-\d\dT/);
  // Others in the same rooms go on.
  await gqlOk(api.url, SEND, { r: rooms[0], b: "fine" }, bob.token);
});

it("never holds up the chat path: with the moderation consumer down, messages flow; it catches up after", async () => {
  const { alice, bob, carol, dave, room } = await roomOfFour();
  await moderation.kill();
  const client = wsClient(api.url.replace(/^http/, "ws"), bob.token);
  const sent: string[] = [];
  try {
    const stream = new TestSubscription<{ messageAdded: { body: string } }>(
      client,
      `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { body } }`,
      { r: room },
    );
    for (let i = 0; i < 20; i++)
      sent.push(
        (await gqlOk(api.url, SEND, { r: room, b: `while moderation is down ${i}` }, alice.token)).sendMessage.id,
      );
    await stream.waitFor((s) => s.data.length === 20, 10_000, "every message while moderation is down");
    await gqlOk(api.url, REPORT, { m: sent[0], why: "spam" }, carol.token);
    await gqlOk(api.url, REPORT, { m: sent[0], why: "spam" }, dave.token);
    expect((await shown(bob, room, sent[0]!)).hidden).toBe(false);
  } finally {
    await client.dispose();
  }
  moderation = await AppProcess.start("moderation", env);
  // Its group moves to the new process once the killed one's session lapses (KAFKA_SESSION_TIMEOUT_MS).
  await waitUntil(async () => (await shown(bob, room, sent[0]!)).hidden, 45_000, "the reports read after the restart");
}, 90_000);
