import assert from "node:assert/strict";
import { ConfigError } from "../../../src/config/config.ts";
import { GUESTS_POLICY_DEFAULT, loadGuestsPolicy } from "../../../src/config/guests_policy.ts";
import { loadLayeredConfig } from "../../../src/config/layered_config.ts";

Deno.test("the guests policy defaults to libvirt-guests' own defaults", () => {
  assert.deepEqual(loadGuestsPolicy({}), {
    onBoot: "ignore",
    onShutdown: "shutdown",
    parallelShutdown: 0,
    shutdownTimeoutSeconds: 300,
    startDelaySeconds: 0,
    bypassCache: false,
    syncTime: false,
  });
  assert.deepEqual(loadGuestsPolicy({}), GUESTS_POLICY_DEFAULT);
});

Deno.test("the guests policy takes libvirt-guests' values", () => {
  assert.deepEqual(
    loadGuestsPolicy({
      EVIRT_ON_BOOT: "start",
      EVIRT_ON_SHUTDOWN: "suspend",
      EVIRT_PARALLEL_SHUTDOWN: "4",
      EVIRT_SHUTDOWN_TIMEOUT: "120",
      EVIRT_START_DELAY: "2",
      EVIRT_BYPASS_CACHE: "0",
      EVIRT_SYNC_TIME: "1",
    }),
    {
      onBoot: "start",
      onShutdown: "suspend",
      parallelShutdown: 4,
      shutdownTimeoutSeconds: 120,
      startDelaySeconds: 2,
      bypassCache: false,
      syncTime: true,
    },
  );
});

Deno.test("the guests policy refuses bad values naming the variable", () => {
  const refused: [Record<string, string>, string][] = [
    [{ EVIRT_ON_BOOT: "resume" }, "EVIRT_ON_BOOT must be start or ignore, got 'resume'"],
    [
      { EVIRT_ON_SHUTDOWN: "ignore" },
      "EVIRT_ON_SHUTDOWN must be suspend or shutdown, got 'ignore'",
    ],
    [
      { EVIRT_SHUTDOWN_TIMEOUT: "0" },
      "EVIRT_SHUTDOWN_TIMEOUT must be an integer from 1 to 86400, got '0' " +
      "(evirt bounds every wait: libvirt-guests' 0 (no timeout) is not offered)",
    ],
    [{ EVIRT_START_DELAY: "-1" }, "EVIRT_START_DELAY must be an integer from 0 to 86400, got '-1'"],
    [
      { EVIRT_PARALLEL_SHUTDOWN: "x" },
      "EVIRT_PARALLEL_SHUTDOWN must be an integer from 0 to 1024, got 'x'",
    ],
    [{ EVIRT_SYNC_TIME: "yes" }, "EVIRT_SYNC_TIME must be 0 or 1, got 'yes'"],
  ];
  for (const [env, message] of refused) {
    assert.throws(
      () => loadGuestsPolicy(env),
      (error: unknown) => error instanceof ConfigError && error.message === message,
      message,
    );
  }
  assert.equal(loadGuestsPolicy({ EVIRT_BYPASS_CACHE: "1" }).bypassCache, true);
});

Deno.test("the guests keys come from the file, located at their line when bad", async () => {
  const HOME = "/home/u";
  const file = (text: string) => ({ readFile: () => text });
  const layered = await loadLayeredConfig(
    { HOME, EVIRT_ON_BOOT: "start" },
    { uid: 1000 },
    file('on_boot = "ignore"\non_shutdown = "suspend"\nshutdown_timeout = 60\nsync_time = true\n'),
  );
  assert.equal(layered.guests.onBoot, "start", "the environment wins");
  assert.equal(layered.guests.onShutdown, "suspend");
  assert.equal(layered.guests.shutdownTimeoutSeconds, 60);
  assert.equal(layered.guests.syncTime, true);
  const source = (key: string) => layered.settings.find((each) => each.key === key);
  assert.deepEqual(source("on_shutdown"), {
    key: "on_shutdown",
    variable: "EVIRT_ON_SHUTDOWN",
    value: "suspend",
    source: "/home/u/.config/evirt/evirt.toml:2",
  });
  assert.equal(source("on_boot")?.source, "EVIRT_ON_BOOT");
  assert.equal(source("parallel_shutdown")?.source, "default");
  await assert.rejects(
    () => loadLayeredConfig({ HOME }, { uid: 1000 }, file("\nshutdown_timeout = 0\n")),
    (error: unknown) =>
      error instanceof ConfigError && error.where === "/home/u/.config/evirt/evirt.toml:2" &&
      error.variable === "shutdown_timeout",
  );
});
