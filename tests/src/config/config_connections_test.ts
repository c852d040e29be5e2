import assert from "node:assert/strict";
import { CONNECTION_LIMITS_DEFAULT } from "../../../src/config/connection_settings.ts";
import {
  ConfigError,
  loadConfig,
  REQUEST_BODIES_MAX_BYTES_DEFAULT,
} from "../../../src/config/config.ts";

const USER = { uid: 1000 };

Deno.test("loadConfig() defaults the connection limits, timeouts and body budget", () => {
  const { config, sources } = loadConfig({ HOME: "/h" }, USER);
  assert.deepEqual(config.connections, CONNECTION_LIMITS_DEFAULT);
  assert.equal(config.requestBodiesMaxBytes, REQUEST_BODIES_MAX_BYTES_DEFAULT);
  assert.equal(sources.connections, "default");
});

Deno.test("loadConfig() reads every connection limit from its variable", () => {
  const { config } = loadConfig({
    HOME: "/h",
    EVIRT_CONNECTIONS_READ_WRITE_MAX: "10",
    EVIRT_CONNECTIONS_READ_ONLY_MAX: "20",
    EVIRT_CONNECTIONS_UNAUTHENTICATED_MAX: "5",
    EVIRT_HEADER_TIMEOUT_MS: "2000",
    EVIRT_IDLE_TIMEOUT_MS: "3000",
    EVIRT_REQUEST_HEAD_MAX_BYTES: "8192",
    EVIRT_REQUEST_BODIES_MAX_BYTES: "8388608",
  }, USER);
  assert.deepEqual(config.connections, {
    readWriteMax: 10,
    readOnlyMax: 20,
    unauthenticatedMax: 5,
    headerTimeoutMs: 2000,
    idleTimeoutMs: 3000,
    headMaxBytes: 8192,
  });
  assert.equal(config.requestBodiesMaxBytes, 8388608);
});

Deno.test("loadConfig() refuses invalid connection limits naming the variable", () => {
  const cases: [string, string][] = [
    ["EVIRT_CONNECTIONS_READ_ONLY_MAX", "0"],
    ["EVIRT_CONNECTIONS_READ_WRITE_MAX", "many"],
    ["EVIRT_HEADER_TIMEOUT_MS", "10"],
    ["EVIRT_IDLE_TIMEOUT_MS", "5"],
    ["EVIRT_REQUEST_HEAD_MAX_BYTES", "100"],
    ["EVIRT_REQUEST_BODIES_MAX_BYTES", "1024"],
  ];
  for (const [variable, value] of cases) {
    assert.throws(
      () => loadConfig({ HOME: "/h", [variable]: value }, USER),
      (error) =>
        error instanceof ConfigError && error.where === variable &&
        error.message.startsWith(variable),
      `${variable}=${value}`,
    );
  }
});
