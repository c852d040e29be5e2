/**
 * The service's log lines: one line per event on stderr, as text (default) or JSON
 * (`EVIRT_LOG_FORMAT=text|json`), at or above `EVIRT_LOG_LEVEL` (`debug`, `info` (default),
 * `warn`, `error`). Every line has the time, the level and the component; a line about one domain
 * or pool has it as a field; an API call adds method, route, role, status, duration and its
 * request id. No colours, ever: the lines are read by journald, files and tools.
 *
 * The parts of the service log with a plain `(message) => void`; their convention of naming the
 * subject first (`domain NAME: …`, `pool 'NAME': …`) is read into the `domain`/`pool` field, and a
 * message starting `error:` or `warning:` sets the level.
 *
 * @module
 */

import { LOG_LEVELS, type LogFormat, type LogLevel } from "../config/log_settings.ts";

export {
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
  logSettings,
} from "../config/log_settings.ts";

/** Extra fields of one line (an API call's method, route, status, …). */
export type LogFields = Record<string, string | number | boolean>;

/** Writes the service's lines. */
export interface Logger {
  /** Writes one line when `level` is at or above the logger's. */
  write(level: LogLevel, component: string, message: string, fields?: LogFields): void;
  /** A plain `(message) => void` for one component (levels and subjects read from the text). */
  component(name: string): (message: string) => void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  format: LogFormat;
  level: LogLevel;
  /** Where a finished line goes (with its newline). */
  sink: (line: string) => void;
  /** The clock. Default `Date.now`. */
  now?: () => number;
}

/** Longest message kept in one line, in characters: a line is bounded like everything else. */
const MESSAGE_MAX_CHARS = 16_384;

/**
 * A logger.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const logger = createLogger({ format: "json", level: "info", sink: (line) => lines.push(line), now: () => 0 });
 * logger.component("host")("domain web: autostarted");
 * console.log(lines[0]);
 * // {"time":"1970-01-01T00:00:00.000Z","level":"info","component":"host","domain":"web","message":"autostarted"}
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const now = options.now ?? Date.now;
  const write: Logger["write"] = (level, component, message, fields = {}) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const time = new Date(now()).toISOString();
    const text = message.length > MESSAGE_MAX_CHARS
      ? `${message.slice(0, MESSAGE_MAX_CHARS)}… (cut)`
      : message;
    if (options.format === "json") {
      options.sink(`${JSON.stringify({ time, level, component, ...fields, message: text })}\n`);
      return;
    }
    const extra = Object.entries(fields).map(([key, value]) => ` ${key}=${textValue(value)}`)
      .join("");
    options.sink(`${time} ${level.padEnd(5)} ${component}: ${text}${extra}\n`);
  };
  return {
    write,
    component: (name) => (message) => {
      const { level, subject, rest, body } = readMessage(message);
      // Text keeps the sentence whole; JSON moves its subject into a field.
      if (options.format === "text") write(level, name, rest);
      else write(level, name, body, subject);
    },
  };
}

function textValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** The level and subject a plain message carries by the service's conventions. */
function readMessage(
  message: string,
): { level: LogLevel; subject: LogFields; rest: string; body: string } {
  let level: LogLevel = "info";
  let rest = message;
  if (rest.startsWith("error: ")) {
    level = "error";
    rest = rest.slice("error: ".length);
  } else if (rest.startsWith("warning: ")) {
    level = "warn";
    rest = rest.slice("warning: ".length);
  }
  const domain = /^domain ([^\s:]+): /.exec(rest);
  if (domain !== null) {
    return { level, subject: { domain: domain[1] }, rest, body: rest.slice(domain[0].length) };
  }
  const pool = /^pool '([^']+)': /.exec(rest);
  if (pool !== null) {
    return { level, subject: { pool: pool[1] }, rest, body: rest.slice(pool[0].length) };
  }
  return { level, subject: {}, rest, body: rest };
}
