import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/env.js";

it("reports every invalid setting at once", () => {
  let error: unknown;
  try {
    loadConfig({
      PORT: "http",
      KAFKA_BROKERS: "localhost",
      DATABASE_URL: "mysql://x",
      NODE_ENV: "production",
      TOKEN_TTL: "forever",
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const problems = (error as ConfigError).problems.join("\n");
  for (const name of ["PORT", "KAFKA_BROKERS", "DATABASE_URL", "JWT_SECRET", "TOKEN_TTL"])
    expect(problems).toContain(name);
});

it("refuses published secrets and token lifetimes over 30 days in production", () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ NODE_ENV: "production", ...env });
      return "";
    } catch (error) {
      return (error as ConfigError).problems.join("\n");
    }
  };
  expect(problems({ JWT_SECRET: "dev-only-secret-change-me-dev-only-secret" })).toMatch(
    /JWT_SECRET: is a default published/,
  );
  expect(problems({ JWT_SECRET: "compose-development-secret-change-me-please" })).toMatch(/published/);
  expect(problems({ JWT_SECRET: "short" })).toMatch(/JWT_SECRET: must be at least 32 characters/);
  const own = "f1f3b5c0a9e84d2b8c6f0e7d1a2b3c4d5e6f7a8b";
  expect(problems({ JWT_SECRET: own, TOKEN_TTL: "31d" })).toMatch(/TOKEN_TTL: must be at most 30 days/);
  expect(problems({ JWT_SECRET: own, TOKEN_TTL: "30d" })).toBe("");
});

it("applies documented defaults and treats empty values as unset", () => {
  const config = loadConfig({ PORT: "", KAFKA_BROKERS: "a:1, b:2" });
  expect(config.PORT).toBe(4000);
  expect(config.KAFKA_BROKERS).toEqual(["a:1", "b:2"]);
  expect(config.WORKER_TRANSACTION_SIZE).toBe(500);
  expect(config.EVENT_LOG_ENABLED).toBe(true);
});

it("exits with status 2 and a readable message on bad configuration or an unknown role", () => {
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
  const bad = run(["all"], { PORT: "not-a-port" });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain("Invalid configuration");
  expect(bad.stderr).toContain("PORT");
  const role = run(["cook"], {});
  expect(role.status).toBe(2);
  expect(role.stderr).toContain("unknown role 'cook'");
});
