import { describe, expect, it } from "vitest";
import {
  createRoom,
  errorCode,
  gql,
  gqlOk,
  signUp,
  TestSubscription,
  uniqueName,
  useTestApp,
  wsClient,
} from "./support/harness.js";

const SEND = `mutation($roomId: ID!, $body: String!, $cid: String) {
  sendMessage(roomId: $roomId, body: $body, clientMessageId: $cid) { id seq body roomId clientMessageId sender { id } }
}`;
const HISTORY = `query($id: ID!) { room(id: $id) { id messages { id seq body sender { id username } } } }`;
const MESSAGE_ADDED = `subscription($roomId: ID!, $afterSeq: Int) {
  messageAdded(roomId: $roomId, afterSeq: $afterSeq) { id seq body sender { id username } room { id } }
}`;

const t = useTestApp();

async function roomWithTwoMembers() {
  const alice = await signUp(t.url);
  const bob = await signUp(t.url);
  const roomId = await createRoom(t.url, alice, [bob], "general");
  return { alice, bob, roomId };
}

describe("accounts", () => {
  it("signs up, logs in and reads `me` with the token", async () => {
    const name = uniqueName("Carol");
    const carol = await signUp(t.url, name);
    expect(carol.username).toBe(name.toLowerCase());

    const login = await gqlOk(
      t.url,
      `mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token user { id lastLoginAt } } }`,
      { u: name.toUpperCase(), p: "correct horse battery" },
    );
    expect(login.logIn.user.id).toBe(carol.id);
    expect(new Date(login.logIn.user.lastLoginAt).getTime()).toBeGreaterThan(Date.now() - 60_000);

    const me = await gqlOk(t.url, `{ me { id username displayName } }`, {}, login.logIn.token);
    expect(me.me).toEqual({ id: carol.id, username: name.toLowerCase(), displayName: `Name ${name}` });
  });

  it("rejects a wrong password and a taken username", async () => {
    const dave = await signUp(t.url);
    const wrong = await gql(
      t.url,
      `mutation($u: String!) { logIn(username: $u, password: "not the password") { token } }`,
      {
        u: dave.username,
      },
    );
    expect(errorCode(wrong)).toBe("UNAUTHENTICATED");

    const taken = await gql(
      t.url,
      `mutation($u: String!) { signUp(username: $u, password: "long enough", displayName: "x") { token } }`,
      {
        u: dave.username,
      },
    );
    expect(errorCode(taken)).toBe("BAD_USER_INPUT");
    expect(taken.errors?.[0]?.message).toContain("taken");
  });

  it("explains invalid sign-up input field by field", async () => {
    const result = await gql(
      t.url,
      `mutation { signUp(username: "a!", password: "short", displayName: " ") { token } }`,
    );
    expect(errorCode(result)).toBe("BAD_USER_INPUT");
    const message = result.errors?.[0]?.message ?? "";
    expect(message).toContain("username");
    expect(message).toContain("password");
    expect(message).toContain("displayName");
  });

  it("answers UNAUTHENTICATED without a token and with a forged one", async () => {
    const { roomId } = await roomWithTwoMembers();
    const noToken = await gql(t.url, SEND, { roomId, body: "hi" });
    expect(errorCode(noToken)).toBe("UNAUTHENTICATED");
    const forged = await gql(t.url, SEND, { roomId, body: "hi" }, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad");
    expect(errorCode(forged)).toBe("UNAUTHENTICATED");
    expect((await gqlOk(t.url, `{ me { id } }`)).me).toBeNull();
  });
});

describe("messages end to end", () => {
  it("delivers a sent message to a subscribed member with seq 1, and history returns it", async () => {
    const { alice, bob, roomId } = await roomWithTwoMembers();
    const client = wsClient(t.wsUrl, bob.token);
    // afterSeq: 0 replays what is stored, then goes live: nothing is missed however long the
    // subscription takes to start, so the test needs no timing assumption.
    const sub = new TestSubscription(client, MESSAGE_ADDED, { roomId, afterSeq: 0 });
    try {
      const { sendMessage } = await gqlOk(t.url, SEND, { roomId, body: "hello bob" }, alice.token);
      expect(sendMessage).toMatchObject({ seq: 1, body: "hello bob", roomId, sender: { id: alice.id } });

      await sub.waitFor((s) => s.data.length >= 1, 20_000, "seq 1");
      expect(sub.data.map((d) => d.messageAdded)).toEqual([
        {
          id: sendMessage.id,
          seq: 1,
          body: "hello bob",
          sender: { id: alice.id, username: alice.username },
          room: { id: roomId },
        },
      ]);

      const history = await gqlOk(t.url, HISTORY, { id: roomId }, bob.token);
      expect(history.room.messages).toEqual([
        { id: sendMessage.id, seq: 1, body: "hello bob", sender: { id: alice.id, username: alice.username } },
      ]);
    } finally {
      sub.close();
      await client.dispose();
    }
  });

  it("streams live messages in order to a subscription without afterSeq", async () => {
    const { alice, bob, roomId } = await roomWithTwoMembers();
    const client = wsClient(t.wsUrl, bob.token);
    const sub = new TestSubscription(client, MESSAGE_ADDED, { roomId });
    try {
      // A live-only subscription starts at some point after the request: probe until it
      // delivers, then every later message must follow in order.
      for (let attempt = 1; sub.data.length === 0; attempt++) {
        await gqlOk(t.url, SEND, { roomId, body: `probe ${attempt}` }, alice.token);
        await sub
          .waitFor((s) => s.data.length > 0, 2_000, "a probe")
          .catch((error) => {
            if (attempt >= 10) throw error;
          });
      }
      const first = sub.data[0]!.messageAdded.seq as number;
      for (const body of ["a", "b", "c"]) await gqlOk(t.url, SEND, { roomId, body }, alice.token);
      await sub.waitFor((s) => s.data.some((d) => d.messageAdded.body === "c"), 20_000, "message c");
      const seqs = sub.data.map((d) => d.messageAdded.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => first + i));
      expect(sub.data.slice(-3).map((d) => d.messageAdded.body)).toEqual(["a", "b", "c"]);
    } finally {
      sub.close();
      await client.dispose();
    }
  });

  it("numbers a room's messages 1..N without gaps, even when sent concurrently", async () => {
    const { alice, bob, roomId } = await roomWithTwoMembers();
    const sends = Array.from({ length: 20 }, (_, i) =>
      gqlOk(t.url, SEND, { roomId, body: `m${i}` }, i % 2 ? alice.token : bob.token),
    );
    const results = await Promise.all(sends);
    expect(results.map((r) => r.sendMessage.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it("stores one message for two sends with the same clientMessageId", async () => {
    const { alice, bob, roomId } = await roomWithTwoMembers();
    const first = await gqlOk(t.url, SEND, { roomId, body: "once", cid: "client-1" }, alice.token);
    const again = await gqlOk(t.url, SEND, { roomId, body: "once", cid: "client-1" }, alice.token);
    expect(again.sendMessage.id).toBe(first.sendMessage.id);
    expect(again.sendMessage.seq).toBe(1);
    expect(again.sendMessage.clientMessageId).toBe("client-1");

    // Another sender may use the same client id: it is theirs, not a duplicate.
    const other = await gqlOk(t.url, SEND, { roomId, body: "mine", cid: "client-1" }, bob.token);
    expect(other.sendMessage.seq).toBe(2);

    const history = await gqlOk(t.url, HISTORY, { id: roomId }, alice.token);
    expect(history.room.messages.map((m: { body: string }) => m.body)).toEqual(["once", "mine"]);
  });

  it("replays stored messages after afterSeq, then continues live without gap or duplicate", async () => {
    const { alice, bob, roomId } = await roomWithTwoMembers();
    for (const body of ["one", "two", "three"]) await gqlOk(t.url, SEND, { roomId, body }, alice.token);

    const client = wsClient(t.wsUrl, bob.token);
    const sub = new TestSubscription(client, MESSAGE_ADDED, { roomId, afterSeq: 1 });
    try {
      await sub.waitFor((s) => s.data.length >= 2, 20_000, "the replay");
      await gqlOk(t.url, SEND, { roomId, body: "four" }, alice.token);
      await sub.waitFor((s) => s.data.length >= 3, 20_000, "the live message");
      expect(sub.data.map((d) => [d.messageAdded.seq, d.messageAdded.body])).toEqual([
        [2, "two"],
        [3, "three"],
        [4, "four"],
      ]);
    } finally {
      sub.close();
      await client.dispose();
    }
  });
});

describe("shared execution of subscription events", () => {
  it("shares results between subscribers only where no field depends on the viewer", async () => {
    const { alice, bob, roomId } = await roomWithTwoMembers();
    const QUERY = `subscription($roomId: ID!) { messageAdded(roomId: $roomId, afterSeq: 0) { seq body room { lastReadSeq } } }`;
    const clients = [wsClient(t.wsUrl, alice.token), wsClient(t.wsUrl, bob.token)];
    const subs = clients.map((c) => new TestSubscription(c, QUERY, { roomId }));
    try {
      await gqlOk(t.url, SEND, { roomId, body: "read by its sender" }, alice.token);
      await Promise.all(subs.map((s) => s.waitFor((x) => x.data.length === 1, 20_000, "the message")));
      // Sending moved alice's read position to 1; bob has read nothing.
      expect(subs[0]!.data[0]!.messageAdded).toEqual({ seq: 1, body: "read by its sender", room: { lastReadSeq: 1 } });
      expect(subs[1]!.data[0]!.messageAdded).toEqual({ seq: 1, body: "read by its sender", room: { lastReadSeq: 0 } });
    } finally {
      subs.forEach((s) => s.close());
      await Promise.all(clients.map((c) => c.dispose()));
    }
  });
  it("never hands one subscriber's alias or directives to another (shared results key on them)", async () => {
    const { alice, bob, roomId } = await roomWithTwoMembers();
    const clients = [wsClient(t.wsUrl, alice.token), wsClient(t.wsUrl, bob.token), wsClient(t.wsUrl, bob.token)];
    const subs = [
      new TestSubscription(
        clients[0]!,
        `subscription($r: ID!) { hijacked: messageAdded(roomId: $r, afterSeq: 0) { seq body } }`,
        {
          r: roomId,
        },
      ),
      new TestSubscription(
        clients[1]!,
        `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { seq body } }`,
        { r: roomId },
      ),
      new TestSubscription(
        clients[2]!,
        `subscription($r: ID!, $b: Boolean!) { messageAdded(roomId: $r, afterSeq: 0) { seq body @include(if: $b) } }`,
        { r: roomId, b: false },
      ),
    ];
    try {
      await gqlOk(t.url, SEND, { roomId, body: "hello" }, alice.token);
      await Promise.all(subs.map((s) => s.waitFor((x) => x.data.length === 1, 20_000, "the message")));
      expect(subs.map((s) => s.data[0])).toEqual([
        { hijacked: { seq: 1, body: "hello" } },
        { messageAdded: { seq: 1, body: "hello" } },
        { messageAdded: { seq: 1 } },
      ]);
    } finally {
      subs.forEach((s) => s.close());
      await Promise.all(clients.map((c) => c.dispose()));
    }
  });
});

describe("authorization and input", () => {
  it("forbids a non-member to send, read or subscribe", async () => {
    const { alice, roomId } = await roomWithTwoMembers();
    const mallory = await signUp(t.url);

    expect(errorCode(await gql(t.url, SEND, { roomId, body: "let me in" }, mallory.token))).toBe("FORBIDDEN");
    expect(errorCode(await gql(t.url, HISTORY, { id: roomId }, mallory.token))).toBe("FORBIDDEN");

    const client = wsClient(t.wsUrl, mallory.token);
    const sub = new TestSubscription(client, MESSAGE_ADDED, { roomId });
    try {
      await sub.waitFor((s) => s.results.length > 0 || s.completed, 20_000, "the subscription to be refused");
      expect(sub.results[0]?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    } finally {
      sub.close();
      await client.dispose();
    }

    const history = await gqlOk(t.url, HISTORY, { id: roomId }, alice.token);
    expect(history.room.messages).toEqual([]);
  });

  it("refuses a subscription without a token", async () => {
    const { roomId } = await roomWithTwoMembers();
    const client = wsClient(t.wsUrl);
    const sub = new TestSubscription(client, MESSAGE_ADDED, { roomId });
    try {
      await sub.waitFor((s) => s.results.length > 0 || s.completed, 20_000, "the subscription to be refused");
      expect(sub.results[0]?.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    } finally {
      sub.close();
      await client.dispose();
    }
  });

  it("answers NOT_FOUND for an unknown room", async () => {
    const alice = await signUp(t.url);
    const result = await gql(t.url, SEND, { roomId: "8a6e0804-2bd0-4672-b79e-d97358ad76b1", body: "hi" }, alice.token);
    expect(errorCode(result)).toBe("NOT_FOUND");
  });

  it.each([
    ["empty", ""],
    ["blank", "   \n\t "],
    ["oversized", "x".repeat(4001)],
  ])("rejects an %s body with BAD_USER_INPUT and stores nothing", async (_, body) => {
    const { alice, roomId } = await roomWithTwoMembers();
    const result = await gql(t.url, SEND, { roomId, body }, alice.token);
    expect(errorCode(result)).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.message).toMatch(/^body /);
    const history = await gqlOk(t.url, HISTORY, { id: roomId }, alice.token);
    expect(history.room.messages).toEqual([]);
  });

  it("accepts a body of exactly 4000 characters", async () => {
    const { alice, roomId } = await roomWithTwoMembers();
    const { sendMessage } = await gqlOk(t.url, SEND, { roomId, body: "y".repeat(4000) }, alice.token);
    expect(sendMessage.body).toHaveLength(4000);
  });
});
