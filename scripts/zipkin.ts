/** `npm run zipkin:start | zipkin:stop`: a local trace viewer (see docs/operations.md, "Tracing"). */
import { LocalZipkinError, start, stop } from "./local-zipkin.js";

try {
  const command = process.argv[2];
  if (command === "start") await start();
  else if (command === "stop") await stop();
  else {
    console.error("usage: tsx scripts/zipkin.ts start | stop");
    process.exitCode = 2;
  }
} catch (error) {
  if (!(error instanceof LocalZipkinError)) throw error;
  console.error(`error: ${error.message}`);
  process.exitCode = 1;
}
