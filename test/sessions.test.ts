/**
 * A session's end reaches its open WebSockets: logging out through any API process, and the
 * token expiring, close them with 4401 so the client signs in again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type App } from "../src/app.js";
import { createLogger } from "../src/logger.js";
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
    const alice = await signUp(t.url);
    const roomId = await createRoom(t.url, alice, []);
    await gqlOk(t.url, `mutation($r: ID!) { sendMessage(roomId: $r, body: "hi") { seq } }`, { r: roomId }, alice.token);
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

  describe("with tokens that live 2 seconds", () => {
    let shortLived: TestApp;
    beforeAll(async () => {
      shortLived = await startTestApp({ config: testConfig({ TOKEN_TTL: "2s" }) });
    });
    afterAll(() => shortLived?.stop());

    it("closes a socket when its token expires", async () => {
      const alice = await signUp(shortLived.url);
      const roomId = await createRoom(shortLived.url, alice, []);
      await gqlOk(
        shortLived.url,
        `mutation($r: ID!) { sendMessage(roomId: $r, body: "hi") { seq } }`,
        { r: roomId },
        alice.token,
      );
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
});
