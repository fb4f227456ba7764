/** `npm run kafka:start | kafka:stop | kafka:status` */
import { LocalKafkaError, start, status, stop } from "./local-kafka.js";

const command = process.argv[2];
try {
  if (command === "start") await start();
  else if (command === "stop") await stop();
  else if (command === "status") {
    const s = await status();
    console.log(
      s.running ? `Kafka is running (pid ${s.pid}) on ${s.brokers}` : `Kafka is not running (port ${s.port})`,
    );
    process.exitCode = s.running ? 0 : 3;
  } else {
    console.error("usage: tsx scripts/kafka.ts start|stop|status");
    process.exitCode = 2;
  }
} catch (error) {
  if (!(error instanceof LocalKafkaError)) throw error;
  console.error(`error: ${error.message}`);
  process.exitCode = 1;
}
