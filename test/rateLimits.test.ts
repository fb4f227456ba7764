/**
 * Rate limits with the product's defaults (the other test files raise them: they are load
 * generators): each limit is met by an attacker's pace, never by a person's. Client addresses
 * come from X-Forwarded-For (TRUST_PROXY=loopback), so each test has addresses of its own.
 */
import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type App } from "../src/app.js";
import { createLogger } from "../src/shared/logger.js";
import {
  errorCode,
  startTestApp,
  testConfig,
  uniqueName,
  type GraphQLResponse,
  type TestApp,
} from "./support/harness.js";

const DEFAULTS = {
  TRUST_PROXY: "loopback",
  RATE_LIMIT_SIGNUP_PER_ADDRESS: "",
  RATE_LIMIT_LOGIN_PER_ADDRESS: "",
  RATE_LIMIT_MESSAGES_PER_USER: "",
  RATE_LIMIT_MUTATIONS_PER_USER: "",
};
let t: TestApp;
let second: App;
beforeAll(async () => {
  t = await startTestApp({ config: testConfig(DEFAULTS) });
  second = await startApp({
    config: t.config,
    role: "api",
    logger: createLogger("error", { test: true }),
    onFatal: () => {},
  });
});
afterAll(async () => {
  await second?.stop();
  await t?.stop();
});

/** A forwarded client address of its own (IPv6 documentation range). */
const address = () => `2001:db8::${randomInt(1, 0xffff).toString(16)}:${randomInt(1, 0xffff).toString(16)}`;

async function call(url: string, from: string, query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-forwarded-for": from,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse;
}

const SIGN_UP = `mutation($u: String!) { signUp(username: $u, password: "correct horse battery", displayName: "x") { token user { id } } }`;
const LOG_IN = `mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token } }`;
const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { seq } }`;
const CREATE_ROOM = `mutation { createRoom(name: "r", memberIds: []) { id } }`;

function expectTooMany(result: GraphQLResponse, limit: string) {
  expect(errorCode(result)).toBe("TOO_MANY_REQUESTS");
  expect(result.errors?.[0]?.extensions).toMatchObject({ limit, retryAfterSeconds: expect.any(Number) });
  expect(result.errors?.[0]?.message).toMatch(/retry in \d+ s/);
}

describe("rate limits", () => {
  it("stops one address guessing a user's password after 10 attempts, on every API process, and the owner still signs in", async () => {
    const from = address();
    const guesser = address();
    const name = uniqueName();
    expect((await call(t.url, from, SIGN_UP, { u: name })).data).toBeTruthy();
    for (let i = 0; i < 10; i++)
      expect(errorCode(await call(t.url, guesser, LOG_IN, { u: name, p: `guess ${i}` }))).toBe("UNAUTHENTICATED");
    expectTooMany(
      await call(second.url!, guesser, LOG_IN, { u: name, p: "correct horse battery" }),
      "logInPerAddressAndUsername",
    );
    // The owner, from their own address, is not locked out by a stranger's guesses.
    expect((await call(second.url!, from, LOG_IN, { u: name, p: "correct horse battery" })).data).toBeTruthy();
    // Another user is not affected.
    const other = uniqueName();
    await call(t.url, from, SIGN_UP, { u: other });
    expect((await call(t.url, from, LOG_IN, { u: other, p: "correct horse battery" })).data).toBeTruthy();
  });

  it("limits sign-ups per client address, not for everyone", async () => {
    const from = address();
    for (let i = 0; i < 20; i++) expect((await call(t.url, from, SIGN_UP, { u: uniqueName() })).data).toBeTruthy();
    expectTooMany(await call(t.url, from, SIGN_UP, { u: uniqueName() }), "signUpPerAddress");
    expect((await call(t.url, address(), SIGN_UP, { u: uniqueName() })).data).toBeTruthy();
  });

  it("lets a person's busiest minute through, and stops a flood of messages without storing it", async () => {
    const from = address();
    const { signUp } = (await call(t.url, from, SIGN_UP, { u: uniqueName() })).data as {
      signUp: { token: string };
    };
    const token = signUp.token;
    // A busy person: a few rooms and fifty messages as fast as the API answers.
    const rooms: string[] = [];
    for (let i = 0; i < 5; i++) rooms.push((await call(t.url, from, CREATE_ROOM, {}, token)).data!.createRoom.id);
    for (let i = 0; i < 50; i++)
      expect((await call(t.url, from, SEND, { r: rooms[i % 5], b: `m${i}` }, token)).data).toBeTruthy();
    // A flood: the 101st message within 10 seconds is refused.
    const flood = await Promise.all(
      Array.from({ length: 60 }, (_, i) => call(t.url, from, SEND, { r: rooms[0], b: `flood ${i}` }, token)),
    );
    const refused = flood.filter((r) => errorCode(r) === "TOO_MANY_REQUESTS");
    expect(refused.length).toBeGreaterThanOrEqual(10);
    expectTooMany(refused[0]!, "messagesPerUser");
    const accepted = flood.filter((r) => r.data?.sendMessage).map((r) => r.data!.sendMessage.seq as number);
    expect(accepted.length + refused.length).toBe(60);
    // Seqs stay gapless: refused messages took none.
    expect(accepted.sort((a, b) => a - b)).toEqual(Array.from({ length: accepted.length }, (_, i) => 11 + i));
  });
});
