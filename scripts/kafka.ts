/** `npm run kafka:start [-- --brokers 3] | kafka:stop | kafka:status` */
import { parseArgs } from "node:util";
import { LocalKafkaError, start, status, stop } from "./local-kafka.js";

const usage = "usage: tsx scripts/kafka.ts start [--brokers 1|3] | stop | status";
try {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { brokers: { type: "string" } } });
  const command = positionals[0];
  const brokers = values.brokers === undefined ? undefined : Number(values.brokers);
  if (command === "start") await start({ brokers });
  else if (command === "stop") await stop();
  else if (command === "status") {
    const s = await status();
    const what = s.nodes === 1 ? "Kafka" : `A ${s.nodes}-node Kafka cluster`;
    console.log(
      s.running ? `${what} is running (pid ${s.pid}) on ${s.brokers}` : `${what} is not running (port ${s.port})`,
    );
    process.exitCode = s.running ? 0 : 3;
  } else {
    console.error(usage);
    process.exitCode = 2;
  }
} catch (error) {
  if (!(error instanceof LocalKafkaError) && (error as { code?: string }).code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION")
    throw error;
  console.error(`error: ${(error as Error).message}\n${usage}`);
  process.exitCode = 1;
}
