import assert from "node:assert/strict";
import { ConfigError } from "../../../src/config/config.ts";
import { loadLayeredConfig } from "../../../src/config/layered_config.ts";

const USER = { uid: 1000 };
const HOME = "/home/u";
const DEFAULT_FILE = `${HOME}/.config/evirt/evirt.toml`;

function withFile(text: string | null) {
  return {
    readFile: (path: string) => (path === DEFAULT_FILE || path === "/e.toml" ? text : null),
  };
}

function setting(layered: Awaited<ReturnType<typeof loadLayeredConfig>>, key: string) {
  return layered.settings.find((each) => each.key === key);
}

Deno.test("the environment overrides the file, which overrides the defaults", async () => {
  const layered = await loadLayeredConfig(
    { HOME, EVIRT_STATS_INTERVAL_MS: "2000" },
    USER,
    withFile('stats_interval_ms = 5000\nxml_max_bytes = 1048576\nlog_level = "warn"\n'),
  );
  assert.equal(layered.config.statsIntervalMs, 2000);
  assert.equal(layered.config.xmlMaxBytes, 1048576);
  assert.equal(layered.log.level, "warn");
  assert.equal(layered.config.connections.idleTimeoutMs, 60000);
  assert.deepEqual(setting(layered, "stats_interval_ms"), {
    key: "stats_interval_ms",
    variable: "EVIRT_STATS_INTERVAL_MS",
    value: "2000",
    source: "EVIRT_STATS_INTERVAL_MS",
  });
  assert.deepEqual(setting(layered, "xml_max_bytes")?.source, `${DEFAULT_FILE}:2`);
  assert.deepEqual(setting(layered, "log_level")?.source, `${DEFAULT_FILE}:3`);
  assert.deepEqual(setting(layered, "idle_timeout_ms"), {
    key: "idle_timeout_ms",
    variable: "EVIRT_IDLE_TIMEOUT_MS",
    value: "60000",
    source: "default",
  });
  assert.deepEqual(setting(layered, "state_dir"), {
    key: "state_dir",
    variable: "EVIRT_STATE_DIR",
    value: `${HOME}/.local/state/evirt`,
    source: "default (HOME)",
  });
  assert.deepEqual(layered.file, { path: DEFAULT_FILE, source: "HOME", present: true });
});

Deno.test("an empty variable does not hide the file's value", async () => {
  const layered = await loadLayeredConfig(
    { HOME, EVIRT_LOG_FORMAT: "" },
    USER,
    withFile('log_format = "json"\n'),
  );
  assert.equal(layered.log.format, "json");
  assert.equal(setting(layered, "log_format")?.source, `${DEFAULT_FILE}:1`);
});

Deno.test("a bad value from the file is refused naming the file, line and key", async () => {
  await assert.rejects(
    () =>
      loadLayeredConfig(
        { HOME },
        USER,
        withFile('# limits\nlog_level = "info"\nheader_timeout_ms = 5\n'),
      ),
    (error: unknown) =>
      error instanceof ConfigError && error.where === `${DEFAULT_FILE}:3` &&
      error.message === `${DEFAULT_FILE}:3: header_timeout_ms must be at least 100, got '5'`,
  );
  await assert.rejects(
    () => loadLayeredConfig({ HOME }, USER, withFile('log_level = "loud"\n')),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message ===
        `${DEFAULT_FILE}:1: log_level must be one of debug, info, warn, error, got 'loud'`,
  );
  await assert.rejects(
    () => loadLayeredConfig({ HOME }, USER, withFile('qemu_user = "no such user!"\n')),
    (error: unknown) => error instanceof ConfigError && error.where === `${DEFAULT_FILE}:1`,
  );
  await assert.rejects(
    () => loadLayeredConfig({ HOME }, USER, withFile('state_dir = "relative"\n')),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message === `${DEFAULT_FILE}:1: state_dir must be an absolute path, got 'relative'`,
  );
});

Deno.test("a bad value from the environment still names the variable, not the file", async () => {
  await assert.rejects(
    () =>
      loadLayeredConfig(
        { HOME, EVIRT_XML_MAX_BYTES: "0" },
        USER,
        withFile("xml_max_bytes = 1024\n"),
      ),
    (error: unknown) =>
      error instanceof ConfigError && error.where === "EVIRT_XML_MAX_BYTES" &&
      error.message === "EVIRT_XML_MAX_BYTES must be a positive integer, got '0'",
  );
});

Deno.test("a file named by EVIRT_CONFIG or --config must exist; the default may be absent", async () => {
  await assert.rejects(
    () => loadLayeredConfig({ HOME, EVIRT_CONFIG: "/missing.toml" }, USER, withFile(null)),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message === "EVIRT_CONFIG names a file that does not exist: '/missing.toml'",
  );
  await assert.rejects(
    () => loadLayeredConfig({ HOME }, USER, { ...withFile(null), configFile: "/missing.toml" }),
    /--config names a file that does not exist/,
  );
  const layered = await loadLayeredConfig({ HOME }, USER, withFile(null));
  assert.deepEqual(layered.file, { path: DEFAULT_FILE, source: "HOME", present: false });
  assert.ok(layered.settings.every((each) => each.source.startsWith("default")));
});

Deno.test("the file's values reach every reader: QEMU confinement, listen and network runtime", async () => {
  const layered = await loadLayeredConfig(
    { HOME, EVIRT_CONFIG: "/e.toml" },
    USER,
    withFile(
      [
        'qemu_user = "+107"',
        "qemu_dynamic_ownership = false",
        'listen = "[::1]:8080"',
        'tokens_file = "/etc/evirt/tokens"',
        "network_runtime = false",
      ].join("\n"),
    ),
  );
  assert.deepEqual(layered.qemuConfinement, {
    user: "+107",
    group: null,
    dynamicOwnership: false,
  });
  assert.deepEqual(layered.config.listen, { hostname: "::1", port: 8080 });
  assert.equal(layered.config.networkRuntime, false);
  assert.equal(setting(layered, "listen")?.value, "[::1]:8080");
  assert.equal(setting(layered, "network_runtime")?.value, "false");
  assert.equal(setting(layered, "qemu_group")?.value, "default");
  assert.equal(layered.env.EVIRT_QEMU_USER, "+107");
});

Deno.test("a file that cannot be read as a file is refused naming it", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-config-" });
  try {
    await assert.rejects(
      () => loadLayeredConfig({ HOME, EVIRT_CONFIG: dir }, USER),
      (error: unknown) => error instanceof ConfigError && error.where === dir,
    );
  } finally {
    Deno.removeSync(dir);
  }
});
