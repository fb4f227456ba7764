import { expect, it } from "vitest";
import { useTestApp } from "./support/harness.js";

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
