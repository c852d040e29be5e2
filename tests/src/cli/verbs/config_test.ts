import assert from "node:assert/strict";
import { CONFIG_KEYS } from "../../../../src/config/config_keys.ts";
import { runFresh } from "../_cli_harness.ts";

/** Runs `evirt WORDS` with a configuration file holding `text`. */
async function withConfigFile(
  text: string,
  fn: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-configverb-" });
  try {
    await Deno.writeTextFile(`${dir}/evirt.toml`, text);
    await fn(`${dir}/evirt.toml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("config show prints every key with its value and source, the environment winning", async () => {
  await withConfigFile('# evirt\nstate_dir = "/srv/evirt"\nlog_level = "warn"\n', async (path) => {
    const result = await runFresh(["config", "show"], {
      EVIRT_CONFIG: path,
      HOME: "/home/u",
      EVIRT_LOG_LEVEL: "debug",
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split("\n");
    assert.equal(lines[0], `Configuration file: ${path} (read; EVIRT_CONFIG)`);
    const rows = new Map(
      lines.slice(4).filter((line) => line !== "").map((line) => {
        const [key, value, source] = line.split(/\s{2,}/);
        return [key, { value, source }];
      }),
    );
    assert.deepEqual(rows.get("state_dir"), { value: "/srv/evirt", source: `${path}:2` });
    assert.deepEqual(rows.get("log_level"), { value: "debug", source: "EVIRT_LOG_LEVEL" });
    assert.deepEqual(rows.get("default_uri"), {
      value: "test:///default",
      source: "EVIRT_DEFAULT_URI",
    });
    assert.deepEqual(rows.get("listen"), { value: "off", source: "default" });
    assert.equal(rows.size, CONFIG_KEYS.length);
    assert.deepEqual(rows.get("check_answers"), { value: "false", source: "default" });
    assert.deepEqual(rows.get("save_image_format"), { value: "raw", source: "default" });
  });
});

Deno.test("config show --json gives the file and the settings", async () => {
  await withConfigFile("stats_interval_ms = 250\n", async (path) => {
    const result = await runFresh(["config", "show", "--config", path, "--json"], {
      HOME: "/home/u",
    });
    assert.equal(result.code, 0, result.stderr);
    const view = JSON.parse(result.stdout);
    assert.deepEqual(view.file, { path, source: "--config", present: true });
    assert.deepEqual(
      view.settings.find((each: { key: string }) => each.key === "stats_interval_ms"),
      {
        key: "stats_interval_ms",
        variable: "EVIRT_STATS_INTERVAL_MS",
        value: "250",
        source: `${path}:1`,
        default: "1000",
        help: "time between two statistics samples of a running QEMU domain",
      },
    );
  });
});

Deno.test("an unknown key in the configuration file fails every command, naming file and line", async () => {
  await withConfigFile('log_level = "info"\nstate_dri = "/x"\n', async (path) => {
    for (const words of [["config", "show"], ["list"]]) {
      const result = await runFresh(words, { EVIRT_CONFIG: path, HOME: "/home/u" });
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `error: invalid argument: ${path}:2: state_dri is not a configuration key (see 'evirt config show')\n`,
      );
    }
  });
});

Deno.test("config refuses an unknown action", async () => {
  const result = await runFresh(["config", "edit"], { HOME: "/home/u" });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /unknown config action 'edit': expected show/);
});
