/**
 * Reads evirt's configuration file: TOML, one flat table of the keys in `config_keys.ts`. An
 * unknown key, a value of the wrong type or a syntax error is refused with the file, the line and
 * the key. Loaded only when a file exists, so a CLI call without one never loads the TOML parser.
 *
 * ```toml
 * # /etc/evirt/evirt.toml
 * state_dir = "/var/lib/evirt"
 * listen = "0.0.0.0:8080"
 * tokens_file = "/etc/evirt/tokens"
 * stats_interval_ms = 5000
 * network_runtime = false
 * ```
 *
 * @module
 */

import { parse as parseToml, TomlError } from "smol-toml";
import { ConfigError } from "./config.ts";
import { CONFIG_KEYS, type ConfigKey } from "./config_keys.ts";

/** The values a configuration file sets, as the environment variables' text. */
export interface ConfigFileValues {
  /** The file. */
  path: string;
  /** Each set variable's value, in the environment's text form (`network_runtime = false` → `off`). */
  values: Record<string, string>;
  /** Each set variable's line in the file (1-based). */
  lines: Record<string, number>;
}

/**
 * Parses a configuration file's text.
 *
 * @param path The file, for messages.
 * @param text Its content.
 * @throws {ConfigError} Located `FILE:LINE`, on a TOML syntax error, an unknown key or a value of
 *   the wrong type.
 *
 * @example
 * ```ts
 * import { parseConfigFile } from "./config_file.ts";
 * const file = parseConfigFile("/etc/evirt/evirt.toml", 'state_dir = "/srv/evirt"\nnetwork_runtime = false\n');
 * console.log(file.values); // { EVIRT_STATE_DIR: "/srv/evirt", EVIRT_NETWORK_RUNTIME: "off" }
 * console.log(file.lines.EVIRT_NETWORK_RUNTIME); // 2
 * ```
 */
export function parseConfigFile(path: string, text: string): ConfigFileValues {
  let document: Record<string, unknown>;
  try {
    document = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // smol-toml's message carries a code frame after its first line; the line number says where.
    const problem = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    throw new ConfigError("TOML", `syntax: ${problem}`, `${path}:${error.line}`);
  }
  const lines = text.split("\n");
  const values: Record<string, string> = {};
  const found: Record<string, number> = {};
  for (const [key, value] of Object.entries(document)) {
    const line = keyLine(lines, key);
    const where = `${path}:${line}`;
    const entry = CONFIG_KEYS.find((each) => each.key === key);
    if (entry === undefined) {
      throw new ConfigError(key, `is not a configuration key (see 'evirt config show')`, where);
    }
    values[entry.variable] = variableText(entry, value, where);
    found[entry.variable] = line;
  }
  return { path, values, lines: found };
}

/** The line (1-based) where a top-level key is set: `key =`, `"key" =`, `key.sub =` or `[key]`. */
function keyLine(lines: readonly string[], key: string): number {
  const name = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(
    `^\\s*(?:\\[{1,2}\\s*)?(?:${name}|"${name}"|'${name}')\\s*(?:=|\\.|\\])`,
  );
  const index = lines.findIndex((line) => pattern.test(line));
  return index + 1;
}

function variableText(entry: ConfigKey, value: unknown, where: string): string {
  const got = describe(value);
  switch (entry.type) {
    case "string":
      if (typeof value !== "string") {
        throw new ConfigError(entry.key, `must be a string, got ${got}`, where);
      }
      return value;
    case "integer":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) {
        throw new ConfigError(entry.key, `must be an integer, got ${got}`, where);
      }
      return String(value);
    case "boolean":
      if (typeof value !== "boolean") {
        throw new ConfigError(entry.key, `must be true or false, got ${got}`, where);
      }
      return value ? entry.booleanText![0] : entry.booleanText![1];
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "boolean") return `${value}`;
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  return "a table";
}
