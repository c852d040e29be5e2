/**
 * The service's log settings: `EVIRT_LOG_FORMAT` (`text`, `json`) and `EVIRT_LOG_LEVEL`
 * (`debug`, `info`, `warn`, `error`). The lines themselves are written by `src/service/logger.ts`.
 *
 * @module
 */

import { ConfigError } from "./config.ts";

/** The levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** A level of {@linkcode LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** The formats of `EVIRT_LOG_FORMAT`. */
export const LOG_FORMATS = ["text", "json"] as const;
/** A format of {@linkcode LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * The format and level from the environment.
 *
 * @example
 * ```ts
 * import { logSettings } from "./log_settings.ts";
 * console.log(logSettings({ EVIRT_LOG_FORMAT: "json" })); // { format: "json", level: "info" }
 * ```
 *
 * @throws {ConfigError} When `EVIRT_LOG_FORMAT` or `EVIRT_LOG_LEVEL` has another value.
 */
export function logSettings(
  env: Record<string, string | undefined>,
): { format: LogFormat; level: LogLevel } {
  const format = env.EVIRT_LOG_FORMAT || "text";
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new ConfigError("EVIRT_LOG_FORMAT", `must be text or json, got '${format}'`);
  }
  const level = env.EVIRT_LOG_LEVEL || "info";
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(
      "EVIRT_LOG_LEVEL",
      `must be one of ${LOG_LEVELS.join(", ")}, got '${level}'`,
    );
  }
  return { format: format as LogFormat, level: level as LogLevel };
}
