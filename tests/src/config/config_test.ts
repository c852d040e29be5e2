import assert from "node:assert/strict";
import { ConfigError, DEFAULT_URI, loadConfig, validateUri } from "../../../src/config/config.ts";

const USER = { uid: 1000 };
const ROOT = { uid: 0 };

Deno.test("loadConfig() honours EVIRT_STATE_DIR and EVIRT_RUNTIME_DIR", () => {
  const { config, sources } = loadConfig(
    { EVIRT_STATE_DIR: "/srv/state/", EVIRT_RUNTIME_DIR: "/srv/run" },
    USER,
  );
  assert.equal(config.stateDir, "/srv/state");
  assert.equal(config.runtimeDir, "/srv/run");
  assert.equal(config.socketPath, "/srv/run/evirt.sock");
  assert.equal(config.readOnlySocketPath, "/srv/run/evirt-ro.sock");
  assert.equal(sources.stateDir, "EVIRT_STATE_DIR");
});

Deno.test("loadConfig() defaults a user's directories from XDG variables", () => {
  const { config } = loadConfig(
    { HOME: "/home/u", XDG_STATE_HOME: "/home/u/st", XDG_RUNTIME_DIR: "/run/user/1000" },
    USER,
  );
  assert.equal(config.stateDir, "/home/u/st/evirt");
  assert.equal(config.runtimeDir, "/run/user/1000/evirt");
  assert.equal(config.defaultUri, DEFAULT_URI);
});

Deno.test("loadConfig() falls back to HOME when XDG variables are unset or relative", () => {
  const { config } = loadConfig({ HOME: "/home/u", XDG_STATE_HOME: "rel" }, USER);
  assert.equal(config.stateDir, "/home/u/.local/state/evirt");
  assert.equal(config.runtimeDir, "/home/u/.cache/evirt/run");
});

Deno.test("loadConfig() uses /run/evirt for root", () => {
  const { config } = loadConfig({ HOME: "/root", XDG_RUNTIME_DIR: "/run/user/0" }, ROOT);
  assert.equal(config.runtimeDir, "/run/evirt");
  assert.equal(config.socketPath, "/run/evirt/evirt.sock");
});

Deno.test("loadConfig() rejects a relative EVIRT_STATE_DIR naming the variable", () => {
  assert.throws(
    () => loadConfig({ EVIRT_STATE_DIR: "state", HOME: "/h" }, USER),
    (error: unknown) =>
      error instanceof ConfigError && error.where === "EVIRT_STATE_DIR" &&
      error.message === "EVIRT_STATE_DIR must be an absolute path, got 'state'" && error.code === 8,
  );
});

Deno.test("loadConfig() rejects a runtime directory too long for a unix socket", () => {
  assert.throws(
    () => loadConfig({ HOME: "/h", EVIRT_RUNTIME_DIR: `/${"x".repeat(120)}` }, USER),
    (error: unknown) => error instanceof ConfigError && error.where === "EVIRT_RUNTIME_DIR",
  );
});

Deno.test("loadConfig() rejects control characters in a path", () => {
  assert.throws(
    () => loadConfig({ HOME: "/h", EVIRT_RUNTIME_DIR: "/a\nb" }, USER),
    /EVIRT_RUNTIME_DIR must not contain control characters/,
  );
});

Deno.test("loadConfig() needs HOME when nothing else gives a state directory", () => {
  assert.throws(() => loadConfig({}, USER), /EVIRT_STATE_DIR is not set and HOME/);
});

Deno.test("loadConfig() validates EVIRT_DEFAULT_URI", () => {
  const env = { HOME: "/h", EVIRT_DEFAULT_URI: "test:///default" };
  assert.equal(loadConfig(env, USER).config.defaultUri, "test:///default");
  assert.throws(
    () => loadConfig({ HOME: "/h", EVIRT_DEFAULT_URI: "qemu:///system" }, USER),
    (error: unknown) => error instanceof ConfigError && error.where === "EVIRT_DEFAULT_URI",
  );
});

Deno.test("loadConfig() validates EVIRT_XML_MAX_BYTES", () => {
  assert.equal(loadConfig({ HOME: "/h" }, USER).config.xmlMaxBytes, 4194304);
  assert.equal(
    loadConfig({ HOME: "/h", EVIRT_XML_MAX_BYTES: "1024" }, USER).config.xmlMaxBytes,
    1024,
  );
  for (const bad of ["0", "-1", "1k", "1.5"]) {
    assert.throws(
      () => loadConfig({ HOME: "/h", EVIRT_XML_MAX_BYTES: bad }, USER),
      /EVIRT_XML_MAX_BYTES must be a positive integer/,
    );
  }
});

Deno.test("validateUri() accepts http URIs and refuses others", () => {
  assert.equal(validateUri("-c", "http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  assert.throws(() => validateUri("-c", "not a uri"), /-c is not a valid URI/);
  assert.throws(() => validateUri("-c", "ftp://x/"), /-c has an unsupported URI/);
});

Deno.test("loadConfig() turns log retention on only when asked", () => {
  assert.deepEqual(loadConfig({ HOME: "/h" }, USER).config.retention, {});
  assert.deepEqual(
    loadConfig({ HOME: "/h", EVIRT_LOG_KEEP_FACTS: "1000", EVIRT_LOG_KEEP_DAYS: "2" }, USER).config
      .retention,
    { keepMax: 1000, maxAgeMs: 2 * 24 * 60 * 60 * 1000 },
  );
  assert.throws(
    () => loadConfig({ HOME: "/h", EVIRT_LOG_KEEP_DAYS: "soon" }, USER),
    /EVIRT_LOG_KEEP_DAYS must be a positive integer/,
  );
});

Deno.test("loadConfig() reads the statistics interval within its range", () => {
  assert.equal(loadConfig({ HOME: "/h" }, USER).config.statsIntervalMs, 1000);
  assert.equal(
    loadConfig({ HOME: "/h", EVIRT_STATS_INTERVAL_MS: "250" }, USER).config.statsIntervalMs,
    250,
  );
  for (const value of ["10", "3600001", "1s"]) {
    assert.throws(
      () => loadConfig({ HOME: "/h", EVIRT_STATS_INTERVAL_MS: value }, USER),
      (error) => error instanceof ConfigError && error.where === "EVIRT_STATS_INTERVAL_MS",
    );
  }
});

Deno.test("loadConfig() reads the save image format libvirt knows", () => {
  assert.equal(loadConfig({ HOME: "/h" }, USER).config.saveImageFormat, "raw");
  const gzip = loadConfig({ HOME: "/h", EVIRT_SAVE_IMAGE_FORMAT: "gzip" }, USER);
  assert.equal(gzip.config.saveImageFormat, "gzip");
  assert.equal(gzip.sources.saveImageFormat, "EVIRT_SAVE_IMAGE_FORMAT");
  assert.throws(
    () => loadConfig({ HOME: "/h", EVIRT_SAVE_IMAGE_FORMAT: "lzma" }, USER),
    (error) =>
      error instanceof ConfigError && error.where === "EVIRT_SAVE_IMAGE_FORMAT" &&
      /got 'lzma'/.test(error.message),
  );
});

Deno.test("loadConfig() reads a save's stream cap in MiB/s; unset, a save is uncapped", () => {
  assert.equal(loadConfig({ HOME: "/h" }, USER).config.saveMaxBandwidthMiB, null);
  const capped = loadConfig({ HOME: "/h", EVIRT_SAVE_MAX_BANDWIDTH_MIB: "64" }, USER);
  assert.equal(capped.config.saveMaxBandwidthMiB, 64);
  assert.equal(capped.sources.saveMaxBandwidthMiB, "EVIRT_SAVE_MAX_BANDWIDTH_MIB");
  for (const bad of ["0", "-1", "fast"]) {
    assert.throws(
      () => loadConfig({ HOME: "/h", EVIRT_SAVE_MAX_BANDWIDTH_MIB: bad }, USER),
      (error) => error instanceof ConfigError && error.where === "EVIRT_SAVE_MAX_BANDWIDTH_MIB",
    );
  }
});

Deno.test("loadConfig() reads whether the network runtime is on", () => {
  assert.equal(loadConfig({ HOME: "/h" }, USER).config.networkRuntime, true);
  assert.equal(loadConfig({ HOME: "/h" }, USER).sources.networkRuntime, "default");
  const off = loadConfig({ HOME: "/h", EVIRT_NETWORK_RUNTIME: "off" }, USER);
  assert.equal(off.config.networkRuntime, false);
  assert.equal(off.sources.networkRuntime, "EVIRT_NETWORK_RUNTIME");
  assert.equal(
    loadConfig({ HOME: "/h", EVIRT_NETWORK_RUNTIME: "on" }, USER).config.networkRuntime,
    true,
  );
  assert.throws(
    () => loadConfig({ HOME: "/h", EVIRT_NETWORK_RUNTIME: "yes" }, USER),
    (error) =>
      error instanceof ConfigError && error.where === "EVIRT_NETWORK_RUNTIME" &&
      /must be 'on' or 'off', got 'yes'/.test(error.message),
  );
});
