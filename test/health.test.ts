import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";
import { expect, it } from "vitest";
import { freePort } from "../scripts/app-process.js";
import { startTestApp, testConfig, useTestApp } from "./support/harness.js";

const t = useTestApp();

it("answers /healthz and reports each dependency on /readyz", async () => {
  const base = t.url.replace(/\/graphql$/, "");
  const health = await fetch(`${base}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: "ok" });

  const ready = await fetch(`${base}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({
    status: "ready",
    checks: [
      { name: "database", ok: true },
      { name: "kafka", ok: true },
      { name: "events", ok: true },
    ],
  });
});

it("serves the Apollo Sandbox landing page to browsers on /graphql", async () => {
  const page = await fetch(t.url, { headers: { accept: "text/html" } });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("embeddable-sandbox");
});

it("answers a body that is not JSON with a JSON error, and does not name its framework", async () => {
  const response = await fetch(t.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"query": "{ me { id } ',
  });
  expect(response.status).toBe(400);
  expect(response.headers.get("x-powered-by")).toBeNull();
  expect(await response.json()).toEqual({
    errors: [{ message: "the request body is not valid JSON", extensions: { code: "BAD_REQUEST" } }],
  });
});

it("serves /readyz and /metrics on OPS_PORT when set, and not on the API port", async () => {
  const ops = await freePort();
  const app = await startTestApp({ config: testConfig({ OPS_PORT: String(ops), OPS_HOST: "127.0.0.1" }) });
  try {
    const base = app.url.replace(/\/graphql$/, "");
    expect((await fetch(`http://127.0.0.1:${ops}/readyz`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${ops}/metrics`)).text()).toContain("chat_websocket_connections");
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  } finally {
    await app.stop();
  }
});

it("answers /readyz and /metrics on the API port to loopback clients only", async () => {
  // Reach the app over the machine's own non-loopback address: the client is then not loopback.
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === "IPv4")?.address;
  expect(external, "this test needs a non-loopback IPv4 interface").toBeDefined();
  const app = await startTestApp({
    config: testConfig({ HOST: "0.0.0.0", JWT_SECRET: randomBytes(36).toString("base64") }),
  });
  try {
    const port = new URL(app.url).port;
    expect((await fetch(`http://${external}:${port}/metrics`)).status).toBe(404);
    expect((await fetch(`http://${external}:${port}/readyz`)).status).toBe(404);
    expect((await fetch(`http://${external}:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  } finally {
    await app.stop();
  }
});

it("answers POST /graphql without Express exactly as the Express route does", async () => {
  // "/graphql/" is served by the Express route; "/graphql" by graphqlPost.ts unless it passes.
  const post = async (path: string, body: string | Uint8Array[], contentType = "application/json") => {
    const chunked = Array.isArray(body);
    const response = await fetch(t.url.replace(/\/graphql$/, path), {
      method: "POST",
      headers: { "content-type": contentType },
      body: chunked
        ? new ReadableStream({
            pull(controller) {
              const next = body.shift();
              if (next) controller.enqueue(next);
              else controller.close();
            },
          })
        : body,
      ...(chunked ? { duplex: "half" } : {}),
    } as RequestInit);
    return {
      status: response.status,
      body: await response.json(),
      cors: response.headers.get("access-control-allow-origin"),
      type: response.headers.get("content-type"),
    };
  };
  const chunksOf = (text: string, size: number) =>
    Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
      new TextEncoder().encode(text.slice(i * size, (i + 1) * size)),
    );
  const cases: Array<[string, () => string | Uint8Array[], string?]> = [
    ["a query", () => JSON.stringify({ query: "{ __typename }" })],
    ["a query, charset given", () => JSON.stringify({ query: "{ __typename }" }), "application/json; charset=utf-8"],
    ["a query in chunks", () => chunksOf(JSON.stringify({ query: "{ __typename }" }), 5)],
    ["an error from GraphQL", () => JSON.stringify({ query: "{ nope }" })],
    ["broken JSON", () => '{"query": "{ me { id } '],
    ["JSON that is not an object", () => '"{ __typename }"'],
    ["only whitespace", () => "  "],
    [
      "a body streamed past 1 MB",
      () => chunksOf(JSON.stringify({ query: "{ __typename }", pad: "x".repeat(1_100_000) }), 64 * 1024),
    ],
  ];
  for (const [name, body, type] of cases) {
    const fast = await post("/graphql", body(), type);
    const viaExpress = await post("/graphql/", body(), type);
    expect({ name, ...fast }).toEqual({ name, ...viaExpress });
  }
  expect((await post("/graphql", chunksOf("x".repeat(1_100_000), 64 * 1024))).status).toBe(413);
});
