/**
 * evirt's configuration, read from the environment. The configuration file (`config_file.ts`) is
 * layered under it by `layered_config.ts`; this module reads only the variables.
 *
 * The variable names are a contract with outside scripts and later code; keep them:
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `EVIRT_STATE_DIR` | event log and durable state | `$XDG_STATE_HOME/evirt`, else `~/.local/state/evirt` |
 * | `EVIRT_RUNTIME_DIR` | sockets, pid files, QMP sockets | `/run/evirt` as root, else `$XDG_RUNTIME_DIR/evirt`, else `~/.cache/evirt/run` |
 * | `EVIRT_DEFAULT_URI` | connection the CLI uses without `-c` | `evirt:///system` |
 * | `EVIRT_XML_MAX_BYTES` | largest domain XML accepted | 4194304 (4 MiB) |
 * | `EVIRT_LOG_KEEP_FACTS` | retention: keep at most this many facts (older ones a snapshot covers go) | off |
 * | `EVIRT_LOG_KEEP_DAYS` | retention: drop facts older than this many days (if a snapshot covers them) | off |
 * | `EVIRT_LISTEN` | also serve the API over TCP at `HOST:PORT` (bearer tokens required) | off |
 * | `EVIRT_TOKENS_FILE` | tokens for TCP: lines `read-write TOKEN` / `read-only TOKEN` | none |
 * | `EVIRT_STATS_INTERVAL_MS` | time between two statistics samples of a running QEMU domain | 1000 |
 * | `EVIRT_SAVE_IMAGE_FORMAT` | compression of save images (libvirt's `save_image_format`): `raw`, `gzip`, `bzip2`, `xz`, `lzop`, `zstd` | `raw` |
 * | `EVIRT_SAVE_MAX_BANDWIDTH_MIB` | cap on a save's stream (QEMU's migration `max-bandwidth`), in MiB/s, to spare the disk (libvirt saves uncapped) | off |
 * | `EVIRT_CONNECTIONS_READ_WRITE_MAX` | connections of read-write callers at once | 256 |
 * | `EVIRT_CONNECTIONS_READ_ONLY_MAX` | connections of read-only callers at once | 1024 |
 * | `EVIRT_CONNECTIONS_UNAUTHENTICATED_MAX` | TCP connections before a valid token | 64 |
 * | `EVIRT_HEADER_TIMEOUT_MS` | time a request head may take to arrive | 10000 |
 * | `EVIRT_IDLE_TIMEOUT_MS` | time a connection may idle, or a body or answer stall | 60000 |
 * | `EVIRT_REQUEST_HEAD_MAX_BYTES` | largest request line plus headers | 65536 |
 * | `EVIRT_NETWORK_RUNTIME` | `on`: `net-start` makes bridges, dnsmasq and firewall rules; `off`: starts are refused (code 84) | `on` |
 * | `EVIRT_CHECK_ANSWERS` | `on`: every JSON answer is checked against the schema the OpenAPI document names for it, a mismatch answered 500 (code 1); for tests | `off` |
 * | `EVIRT_REQUEST_BODIES_MAX_BYTES` | request body bytes held at once by all requests together | 67108864 |
 * | `EVIRT_LOG` | where the event log lives: `sqlite` (a file in the state directory) or `nats://HOST:PORT[,nats://…]` (NATS JetStream) | `sqlite` |
 * | `EVIRT_HOST` | this host's name in a shared log: letters, digits, `-`, `_` | the machine's host name |
 * | `EVIRT_LOG_REPLICAS` | JetStream replicas of a new log stream (3 in a cluster) | 1 |
 * | `EVIRT_HOST_TTL_MS` | how long a host's heartbeat stays valid before the fleet marks it lost (the first host to create the fleet's bucket sets it) | 10000 |
 *
 * The service socket is `$EVIRT_RUNTIME_DIR/evirt.sock`, the read-only one `evirt-ro.sock`.
 *
 * @module
 */

import { CONNECTION_LIMITS_DEFAULT, type ConnectionLimits } from "./connection_settings.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { DRIVER_URIS } from "../model/connection_driver.ts";
import { SAVE_IMAGE_FORMATS, type SaveImageFormat } from "../model/save_image_format.ts";

/** The resolved configuration. Every path is absolute. */
export interface Config {
  /** Event log and durable state (`EVIRT_STATE_DIR`). */
  stateDir: string;
  /** Sockets, pid files and QMP sockets (`EVIRT_RUNTIME_DIR`). */
  runtimeDir: string;
  /** The read-write service socket, `$EVIRT_RUNTIME_DIR/evirt.sock`. */
  socketPath: string;
  /** The read-only service socket, `$EVIRT_RUNTIME_DIR/evirt-ro.sock`. */
  readOnlySocketPath: string;
  /** The connection URI the CLI uses without `-c` (`EVIRT_DEFAULT_URI`). */
  defaultUri: string;
  /** Largest domain XML document accepted, in bytes (`EVIRT_XML_MAX_BYTES`). */
  xmlMaxBytes: number;
  /** Log retention (`EVIRT_LOG_KEEP_FACTS`, `EVIRT_LOG_KEEP_DAYS`); empty when off. */
  retention: { keepMax?: number; maxAgeMs?: number };
  /** TCP listener `{hostname, port}` (`EVIRT_LISTEN`), or null when off. */
  listen: { hostname: string; port: number } | null;
  /** The tokens file for TCP (`EVIRT_TOKENS_FILE`), or null. */
  tokensFile: string | null;
  /** Time between two statistics samples of a running QEMU domain, in ms (`EVIRT_STATS_INTERVAL_MS`). */
  statsIntervalMs: number;
  /** How save images are compressed (`EVIRT_SAVE_IMAGE_FORMAT`, libvirt's `save_image_format`). */
  saveImageFormat: SaveImageFormat;
  /** A save's stream cap in MiB/s (`EVIRT_SAVE_MAX_BANDWIDTH_MIB`); null: uncapped. */
  saveMaxBandwidthMiB: number | null;
  /** Connection bounds and timeouts of the listeners (`EVIRT_CONNECTIONS_*`, `EVIRT_*_TIMEOUT_MS`). */
  connections: ConnectionLimits;
  /** Request body bytes all requests may hold at once (`EVIRT_REQUEST_BODIES_MAX_BYTES`). */
  requestBodiesMaxBytes: number;
  /** Whether networks start on the host (`EVIRT_NETWORK_RUNTIME`); off, starts are refused. */
  networkRuntime: boolean;
  /** Whether answers are checked against their schemas (`EVIRT_CHECK_ANSWERS`; tests). */
  checkAnswers: boolean;
  /**
   * The event log on NATS JetStream (`EVIRT_LOG=nats://…`, `EVIRT_HOST`, `EVIRT_LOG_REPLICAS`),
   * or null for the embedded SQLite file.
   */
  natsLog: { servers: string; host: string; replicas: number; hostTtlMs: number } | null;
}

/** Where the configuration came from, for messages: one entry per field. */
export type ConfigSources = Record<keyof Config, string>;

/** Facts about the process that the defaults depend on. */
export interface ConfigHost {
  /** The effective user id; 0 selects root's defaults. */
  uid: number;
  /** The machine's host name, the default of `EVIRT_HOST`. Default `localhost`. */
  hostname?: string;
}

/** The URI used when `EVIRT_DEFAULT_URI` is unset: the local service. */
export const DEFAULT_URI = "evirt:///system";

/** Default largest domain XML document, in bytes. */
export const XML_MAX_BYTES_DEFAULT = 4 * 1024 * 1024;

/** Default time between two statistics samples of a running domain, in ms. */
export const STATS_INTERVAL_MS_DEFAULT = 1000;

/** Accepted range of `EVIRT_STATS_INTERVAL_MS`: faster only loads the monitors; slower than an hour is off. */
export const STATS_INTERVAL_MS_MIN = 50;
export const STATS_INTERVAL_MS_MAX = 3_600_000;

/** Default request body bytes held at once by all requests: 16 definitions of the default size. */
export const REQUEST_BODIES_MAX_BYTES_DEFAULT = 16 * XML_MAX_BYTES_DEFAULT;

/** Shortest header timeout accepted, in ms: a slower client is not one evirt serves. */
const HEADER_TIMEOUT_MS_MIN = 100;
/** Smallest request head limit accepted, in bytes: below it ordinary requests would not fit. */
const REQUEST_HEAD_MAX_BYTES_MIN = 4096;

/** Linux `sun_path` holds 108 bytes including the terminating NUL. */
const UNIX_SOCKET_PATH_MAX_BYTES = 107;

/**
 * An invalid configuration value. `where` names the variable.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./config.ts";
 * const error = new ConfigError("EVIRT_STATE_DIR", "must be an absolute path, got 'x'");
 * console.log(error.message); // "EVIRT_STATE_DIR must be an absolute path, got 'x'"
 * ```
 */
export class ConfigError extends VirtError {
  /**
   * @param variable The environment variable (or configuration key) at fault.
   * @param problem What is wrong with its value, completing "VARIABLE …".
   * @param where Where the value was read; default the variable itself. A value from the
   *   configuration file is located as `FILE:LINE`.
   */
  constructor(variable: string, problem: string, where: string = variable) {
    super(
      ErrorCode.INVALID_ARG,
      where === variable ? `${variable} ${problem}` : `${where}: ${variable} ${problem}`,
      { where },
    );
    this.name = "ConfigError";
    this.variable = variable;
    this.problem = problem;
  }

  /** The variable or key at fault. */
  readonly variable: string;
  /** What is wrong with its value. */
  readonly problem: string;
}

/**
 * Reads the configuration from `env`.
 *
 * @param env The environment, e.g. `Deno.env.toObject()`.
 * @param host The user id that picks root's or a user's defaults.
 * @returns The configuration and where each value came from.
 * @throws {ConfigError} When a variable has an invalid value; the message names the variable.
 *
 * @example Overriding the directories
 * ```ts
 * import { loadConfig } from "./config.ts";
 * const { config } = loadConfig({ EVIRT_STATE_DIR: "/tmp/s", EVIRT_RUNTIME_DIR: "/tmp/r" }, { uid: 1000 });
 * console.log(config.socketPath); // "/tmp/r/evirt.sock"
 * ```
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  host: ConfigHost,
): { config: Config; sources: ConfigSources } {
  const state = resolveStateDir(env);
  const runtime = resolveRuntimeDir(env, host);
  const socketPath = `${runtime.path}/evirt.sock`;
  const readOnlySocketPath = `${runtime.path}/evirt-ro.sock`;
  for (const path of [socketPath, readOnlySocketPath]) {
    if (new TextEncoder().encode(path).length > UNIX_SOCKET_PATH_MAX_BYTES) {
      throw new ConfigError(
        runtime.source === "EVIRT_RUNTIME_DIR" ? "EVIRT_RUNTIME_DIR" : "XDG_RUNTIME_DIR",
        `gives a socket path longer than ${UNIX_SOCKET_PATH_MAX_BYTES} bytes: '${path}'`,
      );
    }
  }
  const uriText = env.EVIRT_DEFAULT_URI;
  const defaultUri = uriText === undefined || uriText === ""
    ? DEFAULT_URI
    : validateUri("EVIRT_DEFAULT_URI", uriText);
  const xmlMaxBytes = parsePositiveInteger(env, "EVIRT_XML_MAX_BYTES", XML_MAX_BYTES_DEFAULT);
  const listen = env.EVIRT_LISTEN ? parseListen(env.EVIRT_LISTEN) : null;
  const keepFacts = parsePositiveInteger(env, "EVIRT_LOG_KEEP_FACTS", 0);
  const keepDays = parsePositiveInteger(env, "EVIRT_LOG_KEEP_DAYS", 0);
  const retention = {
    ...(keepFacts > 0 ? { keepMax: keepFacts } : {}),
    ...(keepDays > 0 ? { maxAgeMs: keepDays * 24 * 60 * 60 * 1000 } : {}),
  };
  const tokensFile = env.EVIRT_TOKENS_FILE
    ? checkDirectory("EVIRT_TOKENS_FILE", env.EVIRT_TOKENS_FILE)
    : null;
  const statsIntervalMs = parsePositiveInteger(
    env,
    "EVIRT_STATS_INTERVAL_MS",
    STATS_INTERVAL_MS_DEFAULT,
  );
  if (statsIntervalMs < STATS_INTERVAL_MS_MIN || statsIntervalMs > STATS_INTERVAL_MS_MAX) {
    throw new ConfigError(
      "EVIRT_STATS_INTERVAL_MS",
      `must be from ${STATS_INTERVAL_MS_MIN} to ${STATS_INTERVAL_MS_MAX}, got '${statsIntervalMs}'`,
    );
  }
  const saveImageFormat = (env.EVIRT_SAVE_IMAGE_FORMAT || "raw") as SaveImageFormat;
  if (!SAVE_IMAGE_FORMATS.includes(saveImageFormat)) {
    throw new ConfigError(
      "EVIRT_SAVE_IMAGE_FORMAT",
      `must be one of ${SAVE_IMAGE_FORMATS.join(", ")}, got '${saveImageFormat}'`,
    );
  }
  const saveMaxBandwidthMiB = env.EVIRT_SAVE_MAX_BANDWIDTH_MIB
    ? parsePositiveInteger(env, "EVIRT_SAVE_MAX_BANDWIDTH_MIB", 1)
    : null;
  const connections = connectionLimits(env);
  const requestBodiesMaxBytes = parsePositiveInteger(
    env,
    "EVIRT_REQUEST_BODIES_MAX_BYTES",
    REQUEST_BODIES_MAX_BYTES_DEFAULT,
  );
  if (requestBodiesMaxBytes < xmlMaxBytes) {
    throw new ConfigError(
      "EVIRT_REQUEST_BODIES_MAX_BYTES",
      `must be at least EVIRT_XML_MAX_BYTES (${xmlMaxBytes}), got '${requestBodiesMaxBytes}'`,
    );
  }
  const runtimeText = env.EVIRT_NETWORK_RUNTIME;
  if (
    runtimeText !== undefined && runtimeText !== "" && runtimeText !== "on" && runtimeText !== "off"
  ) {
    throw new ConfigError("EVIRT_NETWORK_RUNTIME", `must be 'on' or 'off', got '${runtimeText}'`);
  }
  const networkRuntime = runtimeText !== "off";
  const checkText = env.EVIRT_CHECK_ANSWERS;
  if (checkText !== undefined && checkText !== "" && checkText !== "on" && checkText !== "off") {
    throw new ConfigError("EVIRT_CHECK_ANSWERS", `must be 'on' or 'off', got '${checkText}'`);
  }
  const checkAnswers = checkText === "on";
  const natsLog = parseLogLocation(env, host.hostname ?? "localhost");
  if (listen !== null && tokensFile === null) {
    throw new ConfigError("EVIRT_LISTEN", "needs EVIRT_TOKENS_FILE: TCP access requires tokens");
  }
  return {
    config: {
      stateDir: state.path,
      runtimeDir: runtime.path,
      socketPath,
      readOnlySocketPath,
      defaultUri,
      xmlMaxBytes,
      retention,
      listen,
      tokensFile,
      statsIntervalMs,
      saveImageFormat,
      saveMaxBandwidthMiB,
      connections,
      requestBodiesMaxBytes,
      networkRuntime,
      checkAnswers,
      natsLog,
    },
    sources: {
      stateDir: state.source,
      runtimeDir: runtime.source,
      socketPath: runtime.source,
      readOnlySocketPath: runtime.source,
      defaultUri: uriText ? "EVIRT_DEFAULT_URI" : "default",
      xmlMaxBytes: env.EVIRT_XML_MAX_BYTES ? "EVIRT_XML_MAX_BYTES" : "default",
      retention: env.EVIRT_LOG_KEEP_FACTS || env.EVIRT_LOG_KEEP_DAYS
        ? "EVIRT_LOG_KEEP_FACTS/EVIRT_LOG_KEEP_DAYS"
        : "default (off)",
      listen: env.EVIRT_LISTEN ? "EVIRT_LISTEN" : "default",
      tokensFile: env.EVIRT_TOKENS_FILE ? "EVIRT_TOKENS_FILE" : "default",
      statsIntervalMs: env.EVIRT_STATS_INTERVAL_MS ? "EVIRT_STATS_INTERVAL_MS" : "default",
      saveImageFormat: env.EVIRT_SAVE_IMAGE_FORMAT ? "EVIRT_SAVE_IMAGE_FORMAT" : "default",
      saveMaxBandwidthMiB: env.EVIRT_SAVE_MAX_BANDWIDTH_MIB
        ? "EVIRT_SAVE_MAX_BANDWIDTH_MIB"
        : "default (off)",
      connections: CONNECTION_VARIABLES.some((name) => env[name])
        ? "EVIRT_CONNECTIONS_*"
        : "default",
      requestBodiesMaxBytes: env.EVIRT_REQUEST_BODIES_MAX_BYTES
        ? "EVIRT_REQUEST_BODIES_MAX_BYTES"
        : "default",
      networkRuntime: runtimeText ? "EVIRT_NETWORK_RUNTIME" : "default",
      checkAnswers: checkText ? "EVIRT_CHECK_ANSWERS" : "default",
      natsLog: env.EVIRT_LOG ? "EVIRT_LOG" : "default (sqlite)",
    },
  };
}

/**
 * The configuration of this process, from `Deno.env` and `Deno.uid()`.
 *
 * @throws {ConfigError} When a variable has an invalid value.
 */
export function loadProcessConfig(): { config: Config; sources: ConfigSources } {
  return loadConfig(Deno.env.toObject(), { uid: Deno.uid() ?? -1, hostname: Deno.hostname() });
}

/** A host name as `EVIRT_HOST` accepts it. */
const HOST_NAME_PATTERN = /^[A-Za-z0-9_-]{1,48}$/;

/** Reads `EVIRT_LOG`, `EVIRT_HOST` and `EVIRT_LOG_REPLICAS`: null for the SQLite log. */
function parseLogLocation(
  env: Record<string, string | undefined>,
  hostname: string,
): Config["natsLog"] {
  const text = env.EVIRT_LOG;
  if (text === undefined || text === "" || text === "sqlite") return null;
  const servers = text.split(",").map((server) => server.trim());
  for (const server of servers) {
    let url: URL | undefined;
    try {
      url = new URL(server);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== "nats:" || url.hostname === "" || url.pathname !== "") {
      throw new ConfigError(
        "EVIRT_LOG",
        `must be 'sqlite' or nats://HOST:PORT[,nats://HOST:PORT…], got '${text}'`,
      );
    }
  }
  // The machine's name, cut to what a JetStream subject token and stream name allow.
  const host = env.EVIRT_HOST ||
    hostname.split(".")[0].replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 48);
  if (!HOST_NAME_PATTERN.test(host)) {
    throw new ConfigError(
      "EVIRT_HOST",
      `must be 1 to 48 letters, digits, '-' or '_', got '${host}'`,
    );
  }
  const replicas = parsePositiveInteger(env, "EVIRT_LOG_REPLICAS", 1);
  if (replicas > 5) {
    throw new ConfigError("EVIRT_LOG_REPLICAS", `must be from 1 to 5, got '${replicas}'`);
  }
  const hostTtlMs = parsePositiveInteger(env, "EVIRT_HOST_TTL_MS", 10_000);
  if (hostTtlMs < 1000) {
    throw new ConfigError("EVIRT_HOST_TTL_MS", `must be at least 1000, got '${hostTtlMs}'`);
  }
  return { servers: servers.join(","), host, replicas, hostTtlMs };
}

/**
 * Reads an optional positive integer variable.
 *
 * @param env The environment.
 * @param variable The variable name.
 * @param fallback The value when the variable is unset or empty.
 * @throws {ConfigError} When the value is not a positive decimal integer.
 */
export function parsePositiveInteger(
  env: Record<string, string | undefined>,
  variable: string,
  fallback: number,
): number {
  const text = env[variable];
  if (text === undefined || text === "") return fallback;
  if (!/^[0-9]{1,15}$/.test(text) || Number(text) === 0) {
    throw new ConfigError(variable, `must be a positive integer, got '${text}'`);
  }
  return Number(text);
}

/**
 * Checks a connection URI: `test:///default`, `evirt:///system`, a driver's connection to the
 * service (`lxc:///system`), or `http(s)://host:port[/]`.
 *
 * @param variable The variable or flag the URI came from, for the error.
 * @param text The URI.
 * @returns The URI, unchanged.
 * @throws {ConfigError} When the URI is not one evirt can connect to.
 */
export function validateUri(variable: string, text: string): string {
  if (text === "test:///default" || text === "evirt:///system" || DRIVER_URIS.has(text)) {
    return text;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(variable, `is not a valid URI: '${text}'`);
  }
  if ((url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "") {
    return text;
  }
  throw new ConfigError(
    variable,
    `has an unsupported URI '${text}' (expected test:///default, evirt:///system, lxc:///system or http://host:port)`,
  );
}

const CONNECTION_VARIABLES = [
  "EVIRT_CONNECTIONS_READ_WRITE_MAX",
  "EVIRT_CONNECTIONS_READ_ONLY_MAX",
  "EVIRT_CONNECTIONS_UNAUTHENTICATED_MAX",
  "EVIRT_HEADER_TIMEOUT_MS",
  "EVIRT_IDLE_TIMEOUT_MS",
  "EVIRT_REQUEST_HEAD_MAX_BYTES",
];

function connectionLimits(env: Record<string, string | undefined>): ConnectionLimits {
  const defaults = CONNECTION_LIMITS_DEFAULT;
  const limits: ConnectionLimits = {
    readWriteMax: parsePositiveInteger(
      env,
      "EVIRT_CONNECTIONS_READ_WRITE_MAX",
      defaults.readWriteMax,
    ),
    readOnlyMax: parsePositiveInteger(env, "EVIRT_CONNECTIONS_READ_ONLY_MAX", defaults.readOnlyMax),
    unauthenticatedMax: parsePositiveInteger(
      env,
      "EVIRT_CONNECTIONS_UNAUTHENTICATED_MAX",
      defaults.unauthenticatedMax,
    ),
    headerTimeoutMs: parsePositiveInteger(env, "EVIRT_HEADER_TIMEOUT_MS", defaults.headerTimeoutMs),
    idleTimeoutMs: parsePositiveInteger(env, "EVIRT_IDLE_TIMEOUT_MS", defaults.idleTimeoutMs),
    headMaxBytes: parsePositiveInteger(env, "EVIRT_REQUEST_HEAD_MAX_BYTES", defaults.headMaxBytes),
  };
  if (limits.headerTimeoutMs < HEADER_TIMEOUT_MS_MIN) {
    throw new ConfigError(
      "EVIRT_HEADER_TIMEOUT_MS",
      `must be at least ${HEADER_TIMEOUT_MS_MIN}, got '${limits.headerTimeoutMs}'`,
    );
  }
  if (limits.idleTimeoutMs < HEADER_TIMEOUT_MS_MIN) {
    throw new ConfigError(
      "EVIRT_IDLE_TIMEOUT_MS",
      `must be at least ${HEADER_TIMEOUT_MS_MIN}, got '${limits.idleTimeoutMs}'`,
    );
  }
  if (limits.headMaxBytes < REQUEST_HEAD_MAX_BYTES_MIN) {
    throw new ConfigError(
      "EVIRT_REQUEST_HEAD_MAX_BYTES",
      `must be at least ${REQUEST_HEAD_MAX_BYTES_MIN}, got '${limits.headMaxBytes}'`,
    );
  }
  return limits;
}

function parseListen(text: string): { hostname: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65535) {
    throw new ConfigError("EVIRT_LISTEN", `must be HOST:PORT, got '${text}'`);
  }
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

/**
 * Reads a tokens file: one `read-write TOKEN` or `read-only TOKEN` per line; `#` starts a comment.
 *
 * @throws {ConfigError} Naming `EVIRT_TOKENS_FILE` and the line, when a line is malformed.
 */
export function parseTokens(text: string): { role: "read-write" | "read-only"; token: string }[] {
  const tokens: { role: "read-write" | "read-only"; token: string }[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const [role, token, ...rest] = line.split(/\s+/);
    if ((role !== "read-write" && role !== "read-only") || token === undefined || rest.length > 0) {
      throw new ConfigError(
        "EVIRT_TOKENS_FILE",
        `line ${index + 1}: expected 'read-write TOKEN' or 'read-only TOKEN'`,
      );
    }
    if (token.length < 16) {
      throw new ConfigError(
        "EVIRT_TOKENS_FILE",
        `line ${index + 1}: a token needs 16 characters or more`,
      );
    }
    tokens.push({ role, token });
  });
  return tokens;
}

function resolveStateDir(env: Record<string, string | undefined>): Source {
  const explicit = env.EVIRT_STATE_DIR;
  if (explicit !== undefined && explicit !== "") {
    return { path: checkDirectory("EVIRT_STATE_DIR", explicit), source: "EVIRT_STATE_DIR" };
  }
  const xdg = env.XDG_STATE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg !== undefined && xdg.startsWith("/")) {
    return { path: `${checkDirectory("XDG_STATE_HOME", xdg)}/evirt`, source: "XDG_STATE_HOME" };
  }
  return { path: `${home(env, "EVIRT_STATE_DIR")}/.local/state/evirt`, source: "HOME" };
}

function resolveRuntimeDir(env: Record<string, string | undefined>, host: ConfigHost): Source {
  const explicit = env.EVIRT_RUNTIME_DIR;
  if (explicit !== undefined && explicit !== "") {
    return { path: checkDirectory("EVIRT_RUNTIME_DIR", explicit), source: "EVIRT_RUNTIME_DIR" };
  }
  if (host.uid === 0) return { path: "/run/evirt", source: "default (root)" };
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && xdg.startsWith("/")) {
    return {
      path: `${checkDirectory("XDG_RUNTIME_DIR", xdg)}/evirt`,
      source: "XDG_RUNTIME_DIR",
    };
  }
  return { path: `${home(env, "EVIRT_RUNTIME_DIR")}/.cache/evirt/run`, source: "HOME" };
}

interface Source {
  path: string;
  source: string;
}

function home(env: Record<string, string | undefined>, variable: string): string {
  const value = env.HOME;
  if (value === undefined || !value.startsWith("/")) {
    throw new ConfigError(variable, "is not set and HOME is not an absolute path to default from");
  }
  return checkDirectory("HOME", value);
}

function checkDirectory(variable: string, value: string): string {
  if (!value.startsWith("/")) {
    throw new ConfigError(variable, `must be an absolute path, got '${value}'`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f]/.test(value)) {
    throw new ConfigError(variable, "must not contain control characters");
  }
  const trimmed = value.length > 1 ? value.replace(/\/+$/, "") : value;
  return trimmed === "" ? "/" : trimmed;
}
