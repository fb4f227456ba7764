/**
 * The reference web client (web/) in a real Chromium, as two people: sign up, befriend,
 * create a room, chat both ways live, see typing, drop one side's network while the other
 * keeps sending, and find the resumed list complete and in order.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.js";
import { uniqueName, useTestApp } from "../support/harness.js";

const output = path.resolve("test-results");
const t = useTestApp();
let browser: Browser;

beforeAll(async () => {
  const built = spawnSync("npm", ["run", "--silent", "build:web"], { encoding: "utf8" });
  if (built.status !== 0) throw new Error(`the web client did not build:\n${built.stdout}${built.stderr}`);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

interface Person {
  context: BrowserContext;
  page: Page;
  username: string;
  name: string;
}

async function signUp(name: string): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  await page.goto(t.url.replace(/\/graphql$/, "/"));
  await page.getByRole("button", { name: "Create an account" }).click();
  const username = uniqueName(name.toLowerCase());
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Display name").fill(name);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("button", { name: `Log out ${name}` }).waitFor();
  return { context, page, username, name };
}

async function addFriend(person: Person, friend: Person) {
  await person.page.getByLabel("Add a friend by username").fill(friend.username);
  await person.page.getByRole("button", { name: "Add", exact: true }).click();
  await person.page.getByRole("button", { name: `Chat with ${friend.name}` }).waitFor();
}

const bodies = (page: Page) => page.locator('ol[aria-label="Messages"] > li:not(.pending) .body').allTextContents();

async function say(person: Person, text: string) {
  const composer = person.page.getByLabel("Message", { exact: true });
  await composer.fill(text);
  await composer.press("Enter");
  // Keyboard sending keeps the focus in the composer.
  expect(await composer.evaluate((element) => element === document.activeElement)).toBe(true);
}

/** Aborts the GraphQL requests of `operation`, as a dropped network would: `times` of them, or until stop(). */
async function failRequests(context: BrowserContext, operation: string, times = Infinity) {
  let failed = 0;
  let stopped = false;
  await context.route("**/graphql", (route) => {
    if (stopped || failed >= times || route.request().postDataJSON()?.operationName !== operation)
      return route.continue();
    failed++;
    return route.abort("internetdisconnected");
  });
  return { failed: () => failed, stop: () => void (stopped = true) };
}

/** Edits (to `newBody`, through the prompt) or deletes one of the person's own messages, from its actions. */
async function changeOwnMessage(person: Person, body: string, action: "Edit" | "Delete", newBody?: string) {
  const message = person.page
    .locator('ol[aria-label="Messages"] > li.message', { has: person.page.locator(".body", { hasText: body }) })
    .first();
  if (newBody) person.page.once("dialog", (dialog) => void dialog.accept(newBody));
  await message.hover();
  await message.getByRole("button", { name: action }).click();
}

async function waitForBody(page: Page, text: string) {
  await page
    .locator('ol[aria-label="Messages"] > li:not(.pending) .body', { hasText: text })
    .first()
    .waitFor({ timeout: 20_000 });
}

it("two people chat live, see each other type, and one resumes after a network drop with nothing missing or doubled", async () => {
  const alice = await signUp("Alice");
  const bob = await signUp("Bob");
  await addFriend(alice, bob);
  await addFriend(bob, alice);

  await alice.page.getByLabel("New room name").fill("Team");
  await alice.page.getByRole("checkbox", { name: "Bob" }).check();
  await alice.page.getByRole("button", { name: "Create room" }).click();
  // Bob's room list learns of the room from his feed (myEvents), live.
  await bob.page.getByRole("button", { name: /Team/ }).click();

  await say(alice, "hello bob");
  await waitForBody(bob.page, "hello bob");
  await bob.page.getByLabel("Message", { exact: true }).fill("typing away");
  await alice.page.getByText("Bob is typing…").waitFor({ timeout: 20_000 });
  await say(bob, "hi alice");
  await waitForBody(alice.page, "hi alice");

  await bob.context.setOffline(true);
  const missed = ["one", "two", "three", "four", "five"].map((n) => `while you were away ${n}`);
  for (const text of missed) {
    await say(alice, text);
    await waitForBody(alice.page, text);
  }
  // Alice also edits her first message and deletes one while Bob is away.
  await changeOwnMessage(alice, "hello bob", "Edit", "hello bob, edited");
  await changeOwnMessage(alice, missed[1]!, "Delete");
  await alice.page.getByText("Alice deleted a message").waitFor();
  // After the reconnect Bob's client re-reads his friends and rooms; the first re-read fails
  // here (as when the network drops again mid-request), and the screen stays as it was.
  const meReads = await failRequests(bob.context, "Me", 1);
  await bob.context.setOffline(false);
  await waitForBody(bob.page, missed.at(-1)!);
  // The resumed feed replayed the edit and the deletion: the screen shows both.
  await waitForBody(bob.page, "hello bob, edited");
  await bob.page.getByText("Alice deleted a message").waitFor({ timeout: 20_000 });
  expect(meReads.failed()).toBe(1);
  const resumed = ["hello bob, edited", "hi alice", missed[0], ...missed.slice(2)];
  expect(await bodies(bob.page)).toEqual(resumed);
  expect(await bodies(alice.page)).toEqual(resumed);
  // Bob has read them all: Alice's room view shows his receipt.
  await alice.page.getByText("Seen by Bob").waitFor({ timeout: 20_000 });

  mkdirSync(output, { recursive: true });
  await bob.page.screenshot({ path: path.join(output, "room-view.png") });
  await Promise.all([alice.context.close(), bob.context.close()]);
});

/** The message bubble (in the room's timeline) whose body holds `text`. */
const bubble = (page: Page, text: string, list = "Messages") =>
  page.locator(`ol[aria-label="${list}"] > li.message`, { has: page.locator(".body", { hasText: text }) }).first();

it("two people talk in a thread, quote, mention and pin, and the room view says who is where", async () => {
  const alice = await signUp("Alice");
  const bob = await signUp("Bob");
  await addFriend(alice, bob);
  await addFriend(bob, alice);
  await alice.page.getByLabel("New room name").fill("Weekend plans");
  await alice.page.getByRole("checkbox", { name: "Bob" }).check();
  await alice.page.getByRole("button", { name: "Create room" }).click();
  await bob.page.getByRole("button", { name: /Weekend plans/ }).click();
  // The header names the room and its members.
  await bob.page.getByRole("heading", { name: "Weekend plans" }).waitFor();
  await bob.page.getByLabel("Members").getByText("Alice").waitFor();

  await say(alice, "Where do we meet on Saturday?");
  await waitForBody(bob.page, "Where do we meet");
  // Bob answers in the message's thread, from its actions.
  await bubble(bob.page, "Where do we meet").hover();
  await bubble(bob.page, "Where do we meet").getByRole("button", { name: "Reply in thread" }).click();
  const reply = bob.page.getByLabel("Reply", { exact: true });
  await reply.fill("At the station, at ten");
  await reply.press("Enter");
  await bubble(bob.page, "At the station", "Thread messages").waitFor();

  // Alice sees the thread's summary on her message, opens it, and reads the reply.
  const summary = bubble(alice.page, "Where do we meet").getByRole("button", { name: /1 reply/ });
  await summary.waitFor({ timeout: 20_000 });
  await summary.click();
  await bubble(alice.page, "At the station", "Thread messages").waitFor();
  // The timeline holds top-level messages only.
  expect(await bodies(alice.page)).toEqual(["Where do we meet on Saturday?"]);

  // Bob quotes Alice and mentions her; her copy marks the mention.
  await bubble(bob.page, "Where do we meet").hover();
  await bubble(bob.page, "Where do we meet").getByRole("button", { name: "Quote" }).click();
  await say(bob, `@${alice.username} bring the tickets please`);
  const mentioned = bubble(alice.page, "bring the tickets");
  await mentioned.waitFor({ timeout: 20_000 });
  await expect(mentioned.locator("mark.mention").textContent()).resolves.toBe(`@${alice.username}`);
  await expect(mentioned.locator("blockquote").textContent()).resolves.toContain("Where do we meet");
  expect(await mentioned.getAttribute("class")).toContain("mentions-me");

  // Alice pins Bob's message and sets the room to notify her of mentions only.
  await mentioned.hover();
  await mentioned.getByRole("button", { name: "Pin" }).click();
  await alice.page.getByRole("button", { name: "Pinned (1)" }).waitFor();
  await alice.page.getByLabel("Notify me").selectOption("MENTIONS");
  await alice.page.reload();
  await alice.page.getByRole("button", { name: /Weekend plans/ }).click();
  await expect(alice.page.getByLabel("Notify me").inputValue()).resolves.toBe("MENTIONS");
  await alice.page.getByRole("button", { name: /1 reply/ }).click();
  await bubble(alice.page, "At the station", "Thread messages").waitFor();

  // Bob's header learns of the pin live; he closes his thread for the room view's picture.
  await bob.page.getByRole("button", { name: "Pinned (1)" }).waitFor({ timeout: 20_000 });
  await bob.page.getByRole("button", { name: "Close thread" }).click();
  const docs = path.resolve("docs/screenshots");
  mkdirSync(docs, { recursive: true });
  await bob.page.screenshot({ path: path.join(docs, "room-view.png") });
  await alice.page.screenshot({ path: path.join(docs, "thread.png") });
  await Promise.all([alice.context.close(), bob.context.close()]);
});

it("shows a person what went wrong in words, not codes", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(t.url.replace(/\/graphql$/, "/"));
  await page.getByLabel("Username").fill(uniqueName("nobody"));
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert").textContent()).resolves.toBe("Wrong username or password.");
  await context.close();
});

it("says so when the server cannot be reached at start, and goes on after Try again", async () => {
  const person = await signUp("Carol");
  const meReads = await failRequests(person.context, "Me");
  await person.page.reload();
  await expect(person.page.getByRole("alert").textContent()).resolves.toContain("Can't reach the server");
  meReads.stop();
  await person.page.getByRole("button", { name: "Try again" }).click();
  await person.page.getByRole("button", { name: `Log out ${person.name}` }).waitFor();
  await person.context.close();
});
