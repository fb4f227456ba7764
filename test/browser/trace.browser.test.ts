/**
 * One send's trace as a person sees it in the local Zipkin's UI (npm run zipkin:start), in
 * Chromium: the API, the worker and the delivering API in one trace. Its picture is
 * docs/screenshots/trace.png.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.js";
import { startTracedStack, type TracedStack } from "../support/tracedStack.js";

let stack: TracedStack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startTracedStack(), launchChromium()]);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

it("shows one send as one trace across the API, the worker and the other API", async () => {
  const { traceId } = await stack.sendTraced();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${stack.zipkin.ui}traces/${traceId}`);
  for (const service of Object.values(stack.services))
    await expect(page.getByText(service).first().waitFor({ timeout: 20_000 })).resolves.toBeUndefined();
  await page.getByText("apply commands").first().waitFor();
  const docs = path.resolve("docs/screenshots");
  mkdirSync(docs, { recursive: true });
  await page.screenshot({ path: path.join(docs, "trace.png") });
});
