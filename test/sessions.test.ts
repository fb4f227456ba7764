/**
 * A session's end reaches its open WebSockets: logging out through any API process, and the
 * token expiring, close them with 4401 so the client signs in again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type App } from "../src/app.js";
import { createLogger } from "../src/shared/logger.js";
import {
  createRoom,
  gqlOk,
  signUp,
  startTestApp,
  testConfig,
  TestSubscription,
  type TestApp,
  useTestApp,
  wsClient,
} from "./support/harness.js";

const t = useTestApp();
const MESSAGES = `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { seq } }`;

/** Subscribes and waits until the subscription is live (its replayed first message arrived). */
async function liveSubscription(wsUrl: string, token: string, roomId: string) {
  const client = wsClient(wsUrl, token);
  const sub = new TestSubscription(client, MESSAGES, { r: roomId });
  await sub.waitFor((s) => s.data.length === 1, 20_000, "the first message");
  return { client, sub };
}

/** A user with a room of their own holding one message (seq 1). */
async function userWithMessage(url: string) {
  const alice = await signUp(url);
  const roomId = await createRoom(url, alice, []);
  await gqlOk(url, `mutation($r: ID!) { sendMessage(roomId: $r, body: "hi") { seq } }`, { r: roomId }, alice.token);
  return { alice, roomId };
}

const closeOf = (sub: TestSubscription) => sub.error as { code?: number; reason?: string };

describe("sessions and open sockets", () => {
  let other: App;
  beforeAll(async () => {
    other = await startApp({
      config: t.config,
      role: "api",
      logger: createLogger("error", { test: true }),
      onFatal: () => {},
    });
  });
  afterAll(() => other?.stop());

  it("logOut through one API process closes the user's sockets on another with 4401", async () => {
    const { alice, roomId } = await userWithMessage(t.url);
    const { client, sub } = await liveSubscription(other.url!.replace(/^http/, "ws"), alice.token, roomId);
    try {
      await gqlOk(t.url, `mutation { logOut }`, {}, alice.token);
      await sub.waitFor((s) => s.completed, 10_000, "the socket to close");
      expect(closeOf(sub)).toMatchObject({ code: 4401, reason: expect.stringMatching(/session ended/) });
    } finally {
      sub.close();
      await client.dispose();
    }
  });

  it("logOut closes only that device's sockets; the user's other devices stay connected", async () => {
    const { alice, roomId } = await userWithMessage(t.url);
    const LOG_IN = `mutation($u: String!) { logIn(username: $u, password: "correct horse battery") { token } }`;
    const phone = (await gqlOk(t.url, LOG_IN, { u: alice.username })).logIn.token as string;
    const onPhone = await liveSubscription(t.wsUrl, phone, roomId);
    const onLaptop = await liveSubscription(t.wsUrl, alice.token, roomId);
    try {
      await gqlOk(t.url, `mutation { logOut }`, {}, phone);
      await onPhone.sub.waitFor((s) => s.completed, 10_000, "the phone's socket to close");
      expect(closeOf(onPhone.sub)).toMatchObject({ code: 4401 });
      await gqlOk(
        t.url,
        `mutation($r: ID!) { sendMessage(roomId: $r, body: "still here") { seq } }`,
        { r: roomId },
        alice.token,
      );
      await onLaptop.sub.waitFor((s) => s.data.length === 2, 10_000, "the laptop's next message");
      expect(onLaptop.sub.completed).toBe(false);
    } finally {
      for (const { client, sub } of [onPhone, onLaptop]) {
        sub.close();
        await client.dispose();
      }
    }
  });

  describe("with tokens that live 2 seconds", () => {
    let shortLived: TestApp;
    beforeAll(async () => {
      shortLived = await startTestApp({ config: testConfig({ TOKEN_TTL: "2s" }) });
    });
    afterAll(() => shortLived?.stop());

    it("closes a socket when its token expires", async () => {
      const { alice, roomId } = await userWithMessage(shortLived.url);
      const { client, sub } = await liveSubscription(shortLived.wsUrl, alice.token, roomId);
      try {
        await sub.waitFor((s) => s.completed, 20_000, "the socket to close");
        expect(closeOf(sub)).toMatchObject({ code: 4401, reason: expect.stringMatching(/token expired/) });
      } finally {
        sub.close();
        await client.dispose();
      }
    });
  });

  describe("with connection limits of 2", () => {
    let limited: TestApp;
    beforeAll(async () => {
      limited = await startTestApp({
        config: testConfig({
          WS_MAX_SUBSCRIPTIONS_PER_SOCKET: "2",
          WS_MAX_SOCKETS_PER_USER: "2",
          WS_UNAUTHENTICATED_TIMEOUT_MS: "500",
        }),
      });
    });
    afterAll(() => limited?.stop());

    it("refuses a third subscription on one socket, and keeps the first two", async () => {
      const { alice, roomId } = await userWithMessage(limited.url);
      const client = wsClient(limited.wsUrl, alice.token);
      const subs = [0, 1, 2].map(() => new TestSubscription(client, MESSAGES, { r: roomId }));
      try {
        await subs[2]!.waitFor((s) => s.completed, 10_000, "the third to be refused");
        const [refusal] = subs[2]!.error as Array<{ message: string; extensions: { code: string } }>;
        expect(refusal).toMatchObject({ extensions: { code: "TOO_MANY_SUBSCRIPTIONS", limit: 2 } });
        await Promise.all(subs.slice(0, 2).map((s) => s.waitFor((x) => x.data.length === 1, 10_000, "the message")));
      } finally {
        subs.forEach((s) => s.close());
        await client.dispose();
      }
    });

    it("closes a user's third socket with 4429", async () => {
      const { alice, roomId } = await userWithMessage(limited.url);
      const open = [
        await liveSubscription(limited.wsUrl, alice.token, roomId),
        await liveSubscription(limited.wsUrl, alice.token, roomId),
      ];
      const client = wsClient(limited.wsUrl, alice.token);
      const third = new TestSubscription(client, MESSAGES, { r: roomId });
      try {
        await third.waitFor((s) => s.completed, 10_000, "the third socket to close");
        expect(closeOf(third)).toMatchObject({ code: 4429, reason: expect.stringMatching(/too many connections/) });
        expect(open.every(({ sub }) => !sub.completed)).toBe(true);
      } finally {
        third.close();
        await client.dispose();
        for (const { client: c, sub } of open) {
          sub.close();
          await c.dispose();
        }
      }
    });

    it("closes a socket without a valid token after the grace period", async () => {
      const client = wsClient(limited.wsUrl);
      const sub = new TestSubscription(client, MESSAGES, { r: "8a6e0804-2bd0-4672-b79e-d97358ad76b1" });
      try {
        await sub.waitFor((s) => s.results.length > 0, 10_000, "the refusal");
        expect(sub.results[0]?.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      } finally {
        sub.close();
      }
      const closed = new Promise<{ code: number }>((resolve) =>
        client.on("closed", (event) => resolve(event as { code: number })),
      );
      expect((await closed).code).toBe(4401);
      await client.dispose();
    });
  });
});
