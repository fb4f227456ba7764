/**
 * A fleet of idle subscribed clients in a process of its own (`node --import tsx bench/lib/fleet.ts`):
 * one process may hold fewer sockets than its file-descriptor limit, and one source address
 * about 28,000 connections to one server port. Configured by environment (FLEET_*); prints
 * `open <n>` while opening, `ready` once all are subscribed, `received <k>` once every client
 * has had k events, and closes everything and exits on `stop` from stdin.
 */
import { createInterface } from "node:readline";
import { openMany, subscribe, type Subscriber } from "./clients.js";

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const count = Number(env("FLEET_COUNT"));
const rooms = env("FLEET_ROOMS").split(",");
const received = new Array<number>(count).fill(0);
/** How many clients have had k events, by k. */
const reached: number[] = [];

const subscribers: Subscriber[] = await openMany(
  count,
  50,
  (i) =>
    subscribe(
      env("FLEET_WS_URL"),
      env("FLEET_TOKEN"),
      env("FLEET_QUERY"),
      { r: rooms[i % rooms.length] },
      () => {
        const k = ++received[i]!;
        reached[k] = (reached[k] ?? 0) + 1;
        if (reached[k] === count) console.log(`received ${k}`);
      },
      env("FLEET_LOCAL_ADDRESS"),
    ),
  (n) => n % 5000 === 0 && console.log(`open ${n}`),
);
console.log("ready");
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== "stop") continue;
  subscribers.forEach((s) => s.close());
  process.exit(0);
}
