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
