import assert from "node:assert/strict";
import { ConfigError } from "../../../src/config/config.ts";
import { parseConfigFile } from "../../../src/config/config_file.ts";
import { CONFIG_KEYS, configFileLocation } from "../../../src/config/config_keys.ts";

const FILE = "/etc/evirt/evirt.toml";

function refused(text: string, where: string, message: string): void {
  assert.throws(
    () => parseConfigFile(FILE, text),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.where, where);
      assert.equal(error.message, message);
      assert.equal(error.code, 8);
      return true;
    },
  );
}

Deno.test("parseConfigFile() gives each key as its variable's text, with its line", () => {
  const file = parseConfigFile(
    FILE,
    [
      "# evirt",
      'state_dir = "/srv/evirt"',
      "",
      "stats_interval_ms = 5000",
      "network_runtime = false",
      "qemu_dynamic_ownership = true",
      '"listen" = "127.0.0.1:8080"',
    ].join("\n"),
  );
  assert.deepEqual(file.values, {
    EVIRT_STATE_DIR: "/srv/evirt",
    EVIRT_STATS_INTERVAL_MS: "5000",
    EVIRT_NETWORK_RUNTIME: "off",
    EVIRT_QEMU_DYNAMIC_OWNERSHIP: "1",
    EVIRT_LISTEN: "127.0.0.1:8080",
  });
  assert.deepEqual(file.lines, {
    EVIRT_STATE_DIR: 2,
    EVIRT_STATS_INTERVAL_MS: 4,
    EVIRT_NETWORK_RUNTIME: 5,
    EVIRT_QEMU_DYNAMIC_OWNERSHIP: 6,
    EVIRT_LISTEN: 7,
  });
});

Deno.test("parseConfigFile() refuses an unknown key, naming the file, line and key", () => {
  refused(
    'state_dir = "/a"\n\nstate_directory = "/b"\n',
    `${FILE}:3`,
    `${FILE}:3: state_directory is not a configuration key (see 'evirt config show')`,
  );
});

Deno.test("parseConfigFile() refuses a table, the file being one flat table", () => {
  refused(
    'log_level = "info"\n[connections]\nread_write_max = 3\n',
    `${FILE}:2`,
    `${FILE}:2: connections is not a configuration key (see 'evirt config show')`,
  );
});

Deno.test("parseConfigFile() refuses a value of the wrong type, naming the key and line", () => {
  refused(
    'xml_max_bytes = "4 MiB"\n',
    `${FILE}:1`,
    `${FILE}:1: xml_max_bytes must be an integer, got the string "4 MiB"`,
  );
  refused(
    "state_dir = 7\n",
    `${FILE}:1`,
    `${FILE}:1: state_dir must be a string, got the number 7`,
  );
  refused(
    'network_runtime = "off"\n',
    `${FILE}:1`,
    `${FILE}:1: network_runtime must be true or false, got the string "off"`,
  );
  refused(
    "stats_interval_ms = 1.5\n",
    `${FILE}:1`,
    `${FILE}:1: stats_interval_ms must be an integer, got the number 1.5`,
  );
});

Deno.test("parseConfigFile() locates a TOML syntax error at its line", () => {
  refused('log_level = "info"\nlisten = \n', `${FILE}:2`, `${FILE}:2: TOML syntax: invalid value`);
});

Deno.test("parseConfigFile() refuses a key set twice (TOML forbids it)", () => {
  assert.throws(
    () => parseConfigFile(FILE, 'log_level = "info"\nlog_level = "warn"\n'),
    (error: unknown) => error instanceof ConfigError && error.where === `${FILE}:2`,
  );
});

Deno.test("every configuration key is its variable in lower case without EVIRT_", () => {
  for (const { key, variable } of CONFIG_KEYS) {
    assert.equal(`EVIRT_${key.toUpperCase()}`, variable);
  }
  assert.equal(new Set(CONFIG_KEYS.map((each) => each.key)).size, CONFIG_KEYS.length);
});

Deno.test("configFileLocation() takes --config, then EVIRT_CONFIG, then the default", () => {
  assert.deepEqual(configFileLocation({ EVIRT_CONFIG: "/e.toml" }, 0, "/c.toml"), {
    path: "/c.toml",
    required: true,
    source: "--config",
  });
  assert.deepEqual(configFileLocation({ EVIRT_CONFIG: "/e.toml" }, 0), {
    path: "/e.toml",
    required: true,
    source: "EVIRT_CONFIG",
  });
  assert.deepEqual(configFileLocation({}, 0), {
    path: "/etc/evirt/evirt.toml",
    required: false,
    source: "default (root)",
  });
  assert.equal(
    configFileLocation({ HOME: "/home/u", XDG_CONFIG_HOME: "/home/u/cfg" }, 1000)?.path,
    "/home/u/cfg/evirt/evirt.toml",
  );
  assert.equal(
    configFileLocation({ HOME: "/home/u" }, 1000)?.path,
    "/home/u/.config/evirt/evirt.toml",
  );
  assert.equal(configFileLocation({}, 1000), null);
});
