/**
 * The effective configuration: the defaults, then the configuration file
 * (`config_file.ts`), then the environment, each layer overriding the one before; with where
 * each value came from, for `evirt config show`.
 *
 * @module
 */

import {
  type Config,
  ConfigError,
  type ConfigHost,
  type ConfigSources,
  loadConfig,
} from "./config.ts";
import {
  CONFIG_FILE_MAX_BYTES,
  CONFIG_KEYS,
  configFileLocation,
  type ConfigKeyName,
} from "./config_keys.ts";
import type { ConfigFileValues } from "./config_file.ts";
import { loadQemuConfinement, type QemuConfinementConfig } from "./qemu_confinement.ts";
import { type LogFormat, type LogLevel, logSettings } from "./log_settings.ts";

/** One key's effective value and where it came from. */
export interface ConfigSetting {
  /** The file's key, e.g. `state_dir`. */
  key: string;
  /** The environment variable, e.g. `EVIRT_STATE_DIR`. */
  variable: string;
  /** The effective value as text (`off`/`none` for an unset optional value). */
  value: string;
  /** The variable's name, `FILE:LINE`, or `default` (with what the default was derived from). */
  source: string;
}

/** The configuration file that was looked for. */
export interface ConfigFileStatus {
  path: string;
  /** How it was chosen: `--config`, `EVIRT_CONFIG` or a default. */
  source: string;
  /** Whether it existed (a default file may be absent). */
  present: boolean;
}

/** The effective configuration of {@linkcode loadLayeredConfig}. */
export interface LayeredConfig {
  config: Config;
  sources: ConfigSources;
  /** The log settings (`log_format`, `log_level`). */
  log: { format: LogFormat; level: LogLevel };
  /** Who QEMU runs as (`qemu_user`, `qemu_group`, `qemu_dynamic_ownership`). */
  qemuConfinement: QemuConfinementConfig;
  /** The environment with the file's values under the variables it does not set. */
  env: Record<string, string | undefined>;
  /** The file looked for, or null when there is no default location (no HOME). */
  file: ConfigFileStatus | null;
  /** Every key of `CONFIG_KEYS`, in order, with its value and source. */
  settings: ConfigSetting[];
}

/** Options of {@linkcode loadLayeredConfig}. */
export interface LayeredConfigOptions {
  /** The file named by `--config`; it must exist. */
  configFile?: string;
  /** Reads a file; null when it does not exist. Default: the file system, bounded. */
  readFile?: (path: string) => string | null;
}

/**
 * Loads the effective configuration.
 *
 * @param env The environment.
 * @param host The user id that picks the defaults and the default file.
 * @throws {ConfigError} On a bad file (located `FILE:LINE` and naming the key) or a bad variable
 *   (naming it).
 *
 * @example
 * ```ts
 * import { loadLayeredConfig } from "./layered_config.ts";
 * const layered = await loadLayeredConfig({ HOME: "/home/u", EVIRT_LOG_LEVEL: "debug" }, { uid: 1000 }, {
 *   readFile: () => 'state_dir = "/srv/evirt"\nlog_level = "warn"\n',
 * });
 * console.log(layered.config.stateDir, layered.log.level); // "/srv/evirt" "debug"
 * console.log(layered.settings[0].source); // "/home/u/.config/evirt/evirt.toml:1"
 * ```
 */
export async function loadLayeredConfig(
  env: Record<string, string | undefined>,
  host: ConfigHost,
  options: LayeredConfigOptions = {},
): Promise<LayeredConfig> {
  const { env: merged, file, status } = await layerConfigFile(env, host.uid, options);
  const set = (variable: string) => env[variable] !== undefined && env[variable] !== "";
  const fromFile = (variable: string): string | null =>
    file !== null && !set(variable) && file.lines[variable] !== undefined
      ? `${file.path}:${file.lines[variable]}`
      : null;
  const located = <T>(load: () => T): T => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const where = fromFile(error.variable);
      if (where === null) throw error;
      const key = CONFIG_KEYS.find((each) => each.variable === error.variable)!.key;
      throw new ConfigError(key, error.problem, where);
    }
  };
  const { config, sources } = located(() => loadConfig(merged, host));
  const log = located(() => logSettings(merged));
  const qemuConfinement = located(() => loadQemuConfinement(merged));
  const values = effectiveValues(config, log, qemuConfinement);
  const derived: Record<string, string> = {
    EVIRT_STATE_DIR: sources.stateDir,
    EVIRT_RUNTIME_DIR: sources.runtimeDir,
  };
  const settings = CONFIG_KEYS.map(({ key, variable }) => ({
    key,
    variable,
    value: values[key],
    source: set(variable) ? variable : fromFile(variable) ?? defaultSource(derived[variable]),
  }));
  return { config, sources, log, qemuConfinement, env: merged, file: status, settings };
}

/**
 * The environment with the configuration file's values under the variables it leaves unset; the
 * values are not checked beyond their TOML type (each reader checks its own, as it does a
 * variable's), so a command that reads one setting is not stopped by another.
 *
 * @throws {ConfigError} On a file that cannot be read or parsed, has an unknown key or a value of
 *   the wrong type, or is named but absent.
 *
 * @example
 * ```ts
 * import { layerConfigFile } from "./layered_config.ts";
 * const { env } = await layerConfigFile({ EVIRT_CONFIG: "/etc/e.toml" }, 1000, {
 *   readFile: () => 'default_uri = "test:///default"\n',
 * });
 * console.log(env.EVIRT_DEFAULT_URI); // "test:///default"
 * ```
 */
export async function layerConfigFile(
  env: Record<string, string | undefined>,
  uid: number,
  options: LayeredConfigOptions = {},
): Promise<{
  env: Record<string, string | undefined>;
  file: ConfigFileValues | null;
  status: ConfigFileStatus | null;
}> {
  const location = configFileLocation(env, uid, options.configFile);
  if (location === null) return { env, file: null, status: null };
  const text = (options.readFile ?? readConfigFile)(location.path);
  if (text === null && location.required) {
    throw new ConfigError(
      location.source,
      `names a file that does not exist: '${location.path}'`,
    );
  }
  // The TOML parser is loaded only for a file that exists: most CLI calls have none.
  const file = text === null
    ? null
    : (await import("./config_file.ts")).parseConfigFile(location.path, text);
  const merged: Record<string, string | undefined> = { ...env };
  for (const [variable, value] of Object.entries(file?.values ?? {})) {
    if (env[variable] === undefined || env[variable] === "") merged[variable] = value;
  }
  return {
    env: merged,
    file,
    status: { path: location.path, source: location.source, present: text !== null },
  };
}

/**
 * Loads this process's effective configuration (`Deno.env`, `Deno.uid()`).
 *
 * @param configFile The file named by `--config`, if any.
 * @throws {ConfigError} As {@linkcode loadLayeredConfig}.
 */
export function loadProcessLayeredConfig(configFile?: string): Promise<LayeredConfig> {
  return loadLayeredConfig(Deno.env.toObject(), {
    uid: Deno.uid() ?? -1,
    hostname: Deno.hostname(),
  }, {
    ...(configFile === undefined ? {} : { configFile }),
  });
}

/** `default`, with what a derived default came from (`default (HOME)`). */
function defaultSource(derivedFrom: string | undefined): string {
  if (derivedFrom === undefined) return "default";
  return derivedFrom.startsWith("default") ? derivedFrom : `default (${derivedFrom})`;
}

/** Each key's effective value as text; its type makes a key left out a compile error. */
function effectiveValues(
  config: Config,
  log: { format: LogFormat; level: LogLevel },
  qemu: QemuConfinementConfig,
): Record<ConfigKeyName, string> {
  const { connections } = config;
  const dayMs = 24 * 60 * 60 * 1000;
  return {
    state_dir: config.stateDir,
    runtime_dir: config.runtimeDir,
    default_uri: config.defaultUri,
    xml_max_bytes: String(config.xmlMaxBytes),
    log_keep_facts: config.retention.keepMax === undefined
      ? "off"
      : String(config.retention.keepMax),
    log_keep_days: config.retention.maxAgeMs === undefined
      ? "off"
      : String(config.retention.maxAgeMs / dayMs),
    listen: config.listen === null
      ? "off"
      : `${
        config.listen.hostname.includes(":")
          ? `[${config.listen.hostname}]`
          : config.listen.hostname
      }:${config.listen.port}`,
    tokens_file: config.tokensFile ?? "none",
    stats_interval_ms: String(config.statsIntervalMs),
    save_image_format: config.saveImageFormat,
    connections_read_write_max: String(connections.readWriteMax),
    connections_read_only_max: String(connections.readOnlyMax),
    connections_unauthenticated_max: String(connections.unauthenticatedMax),
    header_timeout_ms: String(connections.headerTimeoutMs),
    idle_timeout_ms: String(connections.idleTimeoutMs),
    request_head_max_bytes: String(connections.headMaxBytes),
    request_bodies_max_bytes: String(config.requestBodiesMaxBytes),
    network_runtime: String(config.networkRuntime),
    check_answers: String(config.checkAnswers),
    log: config.natsLog?.servers ?? "sqlite",
    host: config.natsLog?.host ?? "unused (sqlite log)",
    log_replicas: config.natsLog === null ? "unused (sqlite log)" : String(config.natsLog.replicas),
    host_ttl_ms: config.natsLog === null ? "unused (sqlite log)" : String(config.natsLog.hostTtlMs),
    log_format: log.format,
    log_level: log.level,
    qemu_user: qemu.user ?? "default",
    qemu_group: qemu.group ?? "default",
    qemu_dynamic_ownership: String(qemu.dynamicOwnership),
  };
}

function readConfigFile(path: string): string | null {
  let size: number;
  try {
    size = Deno.statSync(path).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new ConfigError(
      "configuration file",
      `cannot be read: ${(error as Error).message}`,
      path,
    );
  }
  if (size > CONFIG_FILE_MAX_BYTES) {
    throw new ConfigError(
      "configuration file",
      `is larger than ${CONFIG_FILE_MAX_BYTES} bytes (${size})`,
      path,
    );
  }
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError(
      "configuration file",
      `cannot be read: ${(error as Error).message}`,
      path,
    );
  }
}
