/**
 * Kafka with authentication and ACLs: a broker of its own with a SASL_SSL (SCRAM-SHA-512)
 * listener and KRaft's authorizer, set up by `npm run kafka:setup`, and the app's api
 * and worker processes connecting as principals of their own. A record produced straight to
 * the broker can no longer pass for a user's command.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePorts } from "../scripts/app-process.js";
import { removeInstance, start, stop } from "../scripts/local-kafka.js";
import { startApp, type App } from "../src/app.js";
import { loadConfig } from "../src/config/env.js";
import { createKafka, kafkaSecurity, topicNames } from "../src/kafka/client.js";
import { createLogger } from "../src/shared/logger.js";
import { createRoom, gqlOk, signUp, TestSubscription, testConfig, uniqueName, wsClient } from "./support/harness.js";

const users = {
  admin: "admin-secret",
  "chat-api": "api-secret",
  "chat-worker": "worker-secret",
  intruder: "intruder-secret",
};
let dir = "";
let ports: number[] = [];
let api: App | undefined;
let worker: App | undefined;
let secureEnv: Record<string, string> = {};
const prefix = `sec-${uniqueName("t")}.`;
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? "error", { test: true });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "chat-kafka-tls-"));
  const [key, cert] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")];
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", key, "-out", cert],
      ...["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
    ],
    { stdio: "ignore" },
  );
  writeFileSync(path.join(dir, "keystore.pem"), readFileSync(key, "utf8") + readFileSync(cert, "utf8"));
  ports = await freePorts(3);
  await start({
    port: ports[0],
    controllerPort: ports[1],
    log: (line) => console.log(`[kafka security] ${line}`),
    secure: { port: ports[2]!, users, superUsers: ["admin"], keystorePem: path.join(dir, "keystore.pem") },
  });
  secureEnv = {
    KAFKA_BROKERS: `127.0.0.1:${ports[2]}`,
    KAFKA_SSL_CA_FILE: cert,
    KAFKA_SASL_MECHANISM: "scram-sha-512",
    KAFKA_TOPIC_PREFIX: prefix,
  };
  // The operator's command, as docs/security.md gives it.
  const setup = spawnSync(
    process.execPath,
    ["--import", "tsx", "scripts/kafka-setup.ts", "--api", "User:chat-api", "--worker", "User:chat-worker"],
    {
      encoding: "utf8",
      env: { ...process.env, ...secureEnv, KAFKA_SASL_USERNAME: "admin", KAFKA_SASL_PASSWORD: users.admin },
    },
  );
  expect(setup.stderr).toBe("");
  expect(setup.stdout).toMatch(/granted \d+ ACLs to User:chat-api and User:chat-worker/);
  worker = await startApp({ config: configFor("chat-worker"), role: "worker", logger, onFatal: () => {} });
  api = await startApp({ config: configFor("chat-api"), role: "api", logger, onFatal: () => {} });
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await worker?.stop();
  if (ports[0]) {
    await stop({ port: ports[0], log: () => {} });
    removeInstance(ports[0]);
  }
  rmSync(dir, { recursive: true, force: true });
});

function configFor(user: keyof typeof users) {
  return testConfig({ ...secureEnv, KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD: users[user] });
}

function kafkaFor(user: keyof typeof users, password = users[user]) {
  const config = testConfig({ ...secureEnv, KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD: password });
  const quiet = createLogger("silent"); // refusals are what these clients are for
  return createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: "security-test",
    logger: quiet,
    ...kafkaSecurity(config),
  });
}

async function produceCommand(kafka: Kafka) {
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic: topicNames(prefix).commands, messages: [{ key: "x", value: "{}" }] });
  } finally {
    await producer.disconnect();
  }
}

it("chats end to end with the api and the worker on SCRAM over TLS, each as its own principal", async () => {
  const url = api!.url!;
  const [alice, bob] = [await signUp(url), await signUp(url)];
  const room = await createRoom(url, alice, [bob]);
  const client = wsClient(url.replace(/^http/, "ws"), bob.token);
  // From seq 0: the message is delivered whether it is stored before or after the subscription starts.
  const sub = new TestSubscription(client, `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { body } }`, {
    r: room,
  });
  await gqlOk(url, `mutation($r: ID!) { sendMessage(roomId: $r, body: "over TLS") { seq } }`, { r: room }, alice.token);
  await sub.waitFor((s) => s.data.length === 1, 20_000, "the message");
  expect(sub.data[0]).toEqual({ messageAdded: { body: "over TLS" } });
  await client.dispose();
});

/** The broker's answer to a produce: kafkajs wraps it when the refusal comes at the metadata step. */
async function refusal(produce: Promise<void>): Promise<string> {
  try {
    await produce;
    return "accepted";
  } catch (error) {
    const e = error as { type?: string; name: string; cause?: { type?: string } };
    return e.type ?? e.cause?.type ?? e.name;
  }
}

it("lets only the api principal write commands", async () => {
  expect(await refusal(produceCommand(kafkaFor("intruder")))).toBe("TOPIC_AUTHORIZATION_FAILED");
  expect(await refusal(produceCommand(kafkaFor("chat-worker")))).toBe("TOPIC_AUTHORIZATION_FAILED");
  expect(await refusal(produceCommand(kafkaFor("chat-api")))).toBe("accepted");
  await expect(produceCommand(kafkaFor("intruder", "a guess"))).rejects.toMatchObject({
    name: "KafkaJSSASLAuthenticationError",
  });
});

it("refuses a client without TLS on the secure listener", async () => {
  const plain = new Kafka({
    brokers: [`127.0.0.1:${ports[2]}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 2000,
    sasl: { mechanism: "scram-sha-512", username: "chat-api", password: users["chat-api"] },
  });
  await expect(produceCommand(plain)).rejects.toThrow();
});

it("reports Kafka security settings that cannot work, all at once", () => {
  expect(() =>
    loadConfig({ KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SSL: "false", KAFKA_SSL_CA_FILE: "/nonexistent.pem" }),
  ).toThrow(
    /KAFKA_SASL_USERNAME: is required[\s\S]*KAFKA_SASL_PASSWORD: is required[\s\S]*KAFKA_SSL_CA_FILE: is set but KAFKA_SSL=false[\s\S]*cannot read \/nonexistent.pem/,
  );
  expect(() =>
    loadConfig({
      NODE_ENV: "production",
      JWT_SECRET: "a".repeat(40),
      KAFKA_SASL_MECHANISM: "plain",
      KAFKA_SASL_USERNAME: "u",
      KAFKA_SASL_PASSWORD: "p",
    }),
  ).toThrow(/plain sends the password in clear/);
});
