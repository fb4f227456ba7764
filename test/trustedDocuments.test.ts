/**
 * Trusted documents: the web client's operations (codegen's persisted-documents.json) are
 * served by hash; with TRUSTED_DOCUMENTS=only nothing else is, over HTTP or WebSocket, and a
 * refused document is never parsed.
 */
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { trustedDocumentsFile } from "../src/shared/paths.js";
import {
  gql,
  signUp,
  testConfig,
  TestSubscription,
  uniqueName,
  useTestApp,
  wsClient,
  type GraphQLResponse,
} from "./support/harness.js";

const manifest = JSON.parse(readFileSync(trustedDocumentsFile, "utf8")) as Record<string, string>;

/** The web client's operation named `name`: its text and its hash (hex, without `sha256:`). */
function webOperation(name: string) {
  const entry = Object.entries(manifest).find(([, text]) =>
    new RegExp(`(query|mutation|subscription) ${name}\\b`).test(text),
  );
  if (!entry) throw new Error(`the web client has no operation ${name}`);
  return { text: entry[1], hash: entry[0].slice("sha256:".length) };
}

/** POSTs a request body as it is. */
async function post(url: string, body: unknown, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, result: (await response.json()) as GraphQLResponse };
}

const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

/** Signs up, makes a room of one and subscribes to it, all by the web client's hashes. */
async function chatByHash(url: string, wsUrl: string) {
  const { token } = await signUpByHash(url);
  const created = await post(
    url,
    { documentId: `sha256:${webOperation("CreateRoom").hash}`, variables: { name: "trusted", memberIds: [] } },
    token,
  );
  const roomId = created.result.data?.createRoom.id as string;
  expect(roomId).toBeTruthy();
  const client = wsClient(wsUrl, token);
  const subscription = new TestSubscription(client, "", { roomId }, persisted(webOperation("MessageAdded").hash));
  const body = `by hash ${randomUUID()}`;
  const sendMessage = webOperation("SendMessage").hash;
  await subscription.sendUntilReceived(async () => {
    const sent = await post(
      url,
      { extensions: persisted(sendMessage), variables: { roomId, body, clientMessageId: body } },
      token,
    );
    expect(sent.result.errors).toBeUndefined();
  });
  expect(subscription.data.some((d) => d.messageAdded?.body === body)).toBe(true);
  return { token, roomId, client, subscription };
}

describe("trusted documents, TRUSTED_DOCUMENTS=any (the default)", () => {
  const t = useTestApp();

  it("serves the web client's documents by hash, and any other document by its text", async () => {
    const { client, subscription } = await chatByHash(t.url, t.wsUrl);
    subscription.close();
    await client.dispose();
    const alice = await signUp(t.url); // the harness's own text
    expect((await gql(t.url, "{ me { id } }", {}, alice.token)).data?.me.id).toBe(alice.id);
  });

  it("serves a hash sent by GET, as Apollo Client's hashed GETs send it", async () => {
    const user = await signUpByHash(t.url);
    const search = new URLSearchParams({ extensions: JSON.stringify(persisted(webOperation("Me").hash)) });
    const response = await fetch(`${t.url}?${search}`, {
      headers: { authorization: `Bearer ${user.token}`, "apollo-require-preflight": "true" },
    });
    const result = (await response.json()) as GraphQLResponse;
    expect(result.errors).toBeUndefined();
    expect(result.data?.me.id).toBeTruthy();
  });

  it("names an unknown hash and refuses one that is not a SHA-256", async () => {
    const unknown = createHash("sha256").update("query { me { id } }").digest("hex");
    const notFound = await post(t.url, { extensions: persisted(unknown) });
    expect(notFound.result.errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(notFound.result.errors?.[0]?.message).toContain(unknown);
    for (const bad of ["abc", 42, null, { $gt: "" }]) {
      const refused = await post(t.url, {
        query: "{ __typename }",
        extensions: { persistedQuery: { version: 1, sha256Hash: bad } },
      });
      expect(refused.result.errors?.[0]?.extensions?.code, JSON.stringify(bad)).toBe("BAD_USER_INPUT");
    }
  });
});

describe("trusted documents, TRUSTED_DOCUMENTS=only", () => {
  const t = useTestApp({ config: testConfig({ TRUSTED_DOCUMENTS: "only" }) });

  it("serves the web client's documents, by hash over HTTP and WebSocket or by their exact text", async () => {
    const { token, roomId, client, subscription } = await chatByHash(t.url, t.wsUrl);
    subscription.close();
    await client.dispose();
    const history = webOperation("History");
    const byText = await post(t.url, { query: history.text, variables: { roomId } }, token);
    expect(byText.result.errors).toBeUndefined();
    expect(byText.result.data?.room.messages.length).toBeGreaterThan(0);
  });

  it("refuses any other document before parsing it, over HTTP (POST, GET, batches) and WebSocket", async () => {
    const crafted = [
      "{ __schema { types { name fields { name } } } }",
      `{ ${Array.from({ length: 500 }, (_, i) => `a${i}: __typename`).join(" ")} }`,
      "query { this is not GraphQL ((((",
      `${webOperation("Me").text} `, // a trusted text with one more space is another document
    ];
    for (const query of crafted) {
      const refused = await post(t.url, { query });
      expect(refused.status).toBe(400);
      expect(refused.result.errors?.[0]?.extensions?.code, query.slice(0, 40)).toBe("TRUSTED_DOCUMENT_REQUIRED");
    }
    const batch = await post(t.url, [{ query: webOperation("Me").text }, { query: crafted[0] }]);
    expect(batch.result.errors?.[0]?.extensions?.code).toBe("TRUSTED_DOCUMENT_REQUIRED");
    const get = await fetch(`${t.url}?query=${encodeURIComponent(crafted[0]!)}`, {
      headers: { "apollo-require-preflight": "true" },
    });
    expect(get.status).toBe(400);
    expect(((await get.json()) as GraphQLResponse).errors?.[0]?.extensions?.code).toBe("TRUSTED_DOCUMENT_REQUIRED");

    const refusedBefore = await refusals(t.url);
    const { token } = await signUpByHash(t.url);
    const client = wsClient(t.wsUrl, token);
    try {
      for (const query of [crafted[2]!, 'subscription { typing(roomId: "x") { typing } }']) {
        const sub = new TestSubscription(client, query, {});
        await sub.waitFor((s) => s.completed, 10_000, "the refusal");
        const errors = sub.error as Array<{ extensions?: { code?: string } }>;
        expect(errors[0]?.extensions?.code).toBe("TRUSTED_DOCUMENT_REQUIRED");
      }
    } finally {
      await client.dispose();
    }
    // Counted for the operator's dashboard (HTTP's above, the sockets' here).
    expect(await refusals(t.url)).toBe(refusedBefore + 2);
  });
});

/** chat_requests_refused_total for trusted documents, from /metrics (served to loopback clients). */
async function refusals(url: string) {
  const text = await (await fetch(url.replace(/\/graphql$/, "/metrics"))).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith('chat_requests_refused_total{code="TRUSTED_DOCUMENT_REQUIRED"}'));
  return Number(line?.split(" ").pop() ?? 0);
}

async function signUpByHash(url: string) {
  const username = uniqueName();
  const { result } = await post(url, {
    extensions: persisted(webOperation("SignUp").hash),
    variables: { username, password: "correct horse battery", displayName: username },
  });
  const token = result.data?.signUp.token as string;
  expect(token).toBeTruthy();
  return { token };
}
