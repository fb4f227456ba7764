import kafkajs, { type AclEntry, type Admin, type Kafka } from "kafkajs";
import type { Logger } from "../shared/logger.js";
import { ensureTopics, type Groups, type Topics, type TopicSettings } from "./client.js";

// Node's ESM loader does not find these names in kafkajs's CommonJS exports (vitest's does).
const { AclOperationTypes: Op, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/** The Kafka principals (`User:name`) the api and worker processes authenticate as (moderation: the api's). */
export interface Principals {
  api: string;
  worker: string;
}

/**
 * The least each process needs, and so what an operator grants on a cluster with an
 * authorizer: only api principals may write commands, only worker principals may read
 * them and write events and dead letters. Whoever else reaches the brokers can do nothing
 * with the chat topics, so a forged SendMessage cannot be produced.
 */
export function chatAcls(topics: Topics, groups: Groups, principals: Principals): AclEntry[] {
  const allow = (
    principal: string,
    resourceType: AclEntry["resourceType"],
    resourceName: string,
    operations: Array<AclEntry["operation"]>,
    pattern = ResourcePatternTypes.LITERAL,
  ): AclEntry[] =>
    operations.map((operation) => ({
      principal,
      host: "*",
      resourceType,
      resourceName,
      resourcePatternType: pattern,
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    }));
  const { TOPIC, GROUP } = AclResourceTypes;
  const { api, worker } = principals;
  // Both list all three topics at start (a topic not described looks missing).
  const describeTopics = (principal: string) =>
    Object.values(topics).flatMap((topic) => allow(principal, TOPIC, topic, [Op.DESCRIBE]));
  return [
    ...describeTopics(api),
    ...allow(api, TOPIC, topics.commands, [Op.WRITE]),
    // Read: every event; Write: ephemeral events (typing, presence) that no worker handles.
    ...allow(api, TOPIC, topics.events, [Op.READ, Op.WRITE]),
    // Each API process reads all events in a group of its own, deleted when it stops.
    ...allow(api, GROUP, groups.apiPrefix, [Op.READ, Op.DESCRIBE, Op.DELETE], ResourcePatternTypes.PREFIXED),
    // The moderation process runs as the api principal: like an API, it reads events and
    // writes commands.
    ...allow(api, GROUP, groups.moderation, [Op.READ, Op.DESCRIBE]),
    // The consumer-lag gauge on /metrics, and the workers' positions a feed starts from.
    ...allow(api, GROUP, groups.workers, [Op.DESCRIBE]),
    ...allow(api, GROUP, groups.eventLog, [Op.DESCRIBE]),

    ...describeTopics(worker),
    ...allow(worker, TOPIC, topics.commands, [Op.READ]),
    ...allow(worker, TOPIC, topics.events, [Op.WRITE, Op.READ]),
    ...allow(worker, TOPIC, topics.deadLetters, [Op.WRITE]),
    ...allow(worker, GROUP, groups.workers, [Op.READ, Op.DESCRIBE]),
    ...allow(worker, GROUP, groups.eventLog, [Op.READ, Op.DESCRIBE]),
  ];
}

/**
 * Creates the chat topics and grants `chatAcls` (`npm run kafka:setup`). Run with a principal
 * that may create topics and ACLs; granting the same ACL twice changes nothing.
 */
export async function setUpCluster(
  kafka: Kafka,
  options: { topics: Topics; groups: Groups; principals: Principals; settings: TopicSettings; logger: Logger },
): Promise<AclEntry[]> {
  await ensureTopics(kafka, options.topics, options.settings, options.logger);
  const acl = chatAcls(options.topics, options.groups, options.principals);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl });
    await untilInEffect(admin, acl);
  } finally {
    await admin.disconnect();
  }
  return acl;
}

/**
 * Brokers apply ACLs a moment after the controller accepts them: waits (up to 30 s) until a
 * broker describes every granted entry, so processes started right after setup are allowed in.
 */
async function untilInEffect(admin: Admin, acl: AclEntry[]) {
  const key = (e: AclEntry) =>
    [e.resourceType, e.resourceName, e.resourcePatternType, e.principal, e.host, e.operation, e.permissionType].join();
  const wanted = acl.map(key);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { resources } = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: Op.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    const described = new Set(
      resources.flatMap(({ acls, ...resource }) => acls.map((entry) => key({ ...resource, ...entry }))),
    );
    if (wanted.every((k) => described.has(k))) return;
    if (Date.now() > deadline) throw new Error("the granted ACLs are not in effect after 30 s");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
