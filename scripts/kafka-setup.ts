/**
 * `npm run kafka:setup -- --api User:chat-api --worker User:chat-worker`: creates the chat
 * topics and grants each principal what its processes need (src/kafka/acls.ts), on the
 * cluster that KAFKA_BROKERS and the KAFKA_SASL_* / KAFKA_SSL* settings reach. Run it as an
 * administrator (a super user, or a principal allowed to create topics and ACLs).
 */
import { parseArgs } from "node:util";
import { loadConfig, ConfigError } from "../src/config/env.js";
import { setUpCluster } from "../src/kafka/acls.js";
import { createKafka, groupNames, kafkaSecurity, topicNames, topicSettings } from "../src/kafka/client.js";
import { createLogger } from "../src/shared/logger.js";

const usage = "usage: npm run kafka:setup -- --api User:<api principal> --worker User:<worker principal>";

function readPrincipals() {
  try {
    const { values } = parseArgs({ options: { api: { type: "string" }, worker: { type: "string" } } });
    if (/^User:./.test(values.api ?? "") && /^User:./.test(values.worker ?? ""))
      return { api: values.api!, worker: values.worker! };
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
  }
  console.error(usage);
  process.exit(2);
}

try {
  const principals = readPrincipals();
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-setup`,
    logger,
    ...kafkaSecurity(config),
  });
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  const acl = await setUpCluster(kafka, {
    topics,
    groups: groupNames(config.KAFKA_TOPIC_PREFIX, config.KAFKA_WORKER_GROUP),
    principals,
    settings: topicSettings(config),
    logger,
  });
  console.log(
    `Topics ${Object.values(topics).join(", ")} exist; granted ${acl.length} ACLs to ${principals.api} and ${principals.worker}.`,
  );
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = error instanceof ConfigError ? 2 : 1;
}
