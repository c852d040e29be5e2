/**
 * The keys of evirt's configuration file and where the file is. Each key is the lower-case name
 * of an environment variable without `EVIRT_` (`state_dir` for `EVIRT_STATE_DIR`). Layers, later
 * winning: the defaults, the file, the environment.
 *
 * The file is `--config FILE` (the service), else `$EVIRT_CONFIG`, else `/etc/evirt/evirt.toml`
 * for root and `$XDG_CONFIG_HOME/evirt/evirt.toml` (else `~/.config/evirt/evirt.toml`) for a
 * user. A file named by `--config` or `EVIRT_CONFIG` must exist; the default one may be absent.
 *
 * @module
 */

/** The TOML type a key takes. */
export type ConfigKeyType = "string" | "integer" | "boolean";

/** One key of the configuration file and the environment variable it stands for. */
export interface ConfigKey {
  /** The key in the file, e.g. `state_dir`. */
  key: string;
  /** The environment variable that overrides it, e.g. `EVIRT_STATE_DIR`. */
  variable: string;
  /** The TOML type of its value. */
  type: ConfigKeyType;
  /** The default, as the README and `evirt config show` print it. */
  defaultText: string;
  /** What it sets. */
  help: string;
  /** For a boolean key: the variable's text for true and for false. */
  booleanText?: readonly [string, string];
}

/**
 * Every key of the configuration file, in the order `evirt config show` prints them. The keys
 * stay literal types ({@linkcode ConfigKeyName}), so a reader that must cover every key (the
 * effective values of `evirt config show`) is checked by the compiler, not by a count.
 */
export const CONFIG_KEYS = [
  {
    key: "state_dir",
    variable: "EVIRT_STATE_DIR",
    type: "string",
    defaultText: "$XDG_STATE_HOME/evirt, else ~/.local/state/evirt",
    help: "event log and durable state",
  },
  {
    key: "runtime_dir",
    variable: "EVIRT_RUNTIME_DIR",
    type: "string",
    defaultText: "/run/evirt as root, else $XDG_RUNTIME_DIR/evirt, else ~/.cache/evirt/run",
    help: "sockets, pid files, QMP sockets",
  },
  {
    key: "default_uri",
    variable: "EVIRT_DEFAULT_URI",
    type: "string",
    defaultText: "evirt:///system",
    help: "connection the CLI uses without -c",
  },
  {
    key: "xml_max_bytes",
    variable: "EVIRT_XML_MAX_BYTES",
    type: "integer",
    defaultText: "4194304",
    help: "largest domain XML accepted",
  },
  {
    key: "log_keep_facts",
    variable: "EVIRT_LOG_KEEP_FACTS",
    type: "integer",
    defaultText: "off",
    help: "retention: keep at most this many facts",
  },
  {
    key: "log_keep_days",
    variable: "EVIRT_LOG_KEEP_DAYS",
    type: "integer",
    defaultText: "off",
    help: "retention: drop facts older than this many days",
  },
  {
    key: "listen",
    variable: "EVIRT_LISTEN",
    type: "string",
    defaultText: "off",
    help: "also serve the API over TCP at HOST:PORT (needs tokens_file)",
  },
  {
    key: "tokens_file",
    variable: "EVIRT_TOKENS_FILE",
    type: "string",
    defaultText: "none",
    help: "tokens for TCP: lines 'read-write TOKEN' / 'read-only TOKEN'",
  },
  {
    key: "stats_interval_ms",
    variable: "EVIRT_STATS_INTERVAL_MS",
    type: "integer",
    defaultText: "1000",
    help: "time between two statistics samples of a running QEMU domain",
  },
  {
    key: "save_image_format",
    variable: "EVIRT_SAVE_IMAGE_FORMAT",
    type: "string",
    defaultText: "raw",
    help:
      "compression of save images (libvirt's save_image_format): raw, gzip, bzip2, xz, lzop, zstd",
  },
  {
    key: "connections_read_write_max",
    variable: "EVIRT_CONNECTIONS_READ_WRITE_MAX",
    type: "integer",
    defaultText: "256",
    help: "connections of read-write callers at once",
  },
  {
    key: "connections_read_only_max",
    variable: "EVIRT_CONNECTIONS_READ_ONLY_MAX",
    type: "integer",
    defaultText: "1024",
    help: "connections of read-only callers at once",
  },
  {
    key: "connections_unauthenticated_max",
    variable: "EVIRT_CONNECTIONS_UNAUTHENTICATED_MAX",
    type: "integer",
    defaultText: "64",
    help: "TCP connections before a valid token",
  },
  {
    key: "header_timeout_ms",
    variable: "EVIRT_HEADER_TIMEOUT_MS",
    type: "integer",
    defaultText: "10000",
    help: "time a request head may take to arrive",
  },
  {
    key: "idle_timeout_ms",
    variable: "EVIRT_IDLE_TIMEOUT_MS",
    type: "integer",
    defaultText: "60000",
    help: "time a connection may idle, or a body or answer stall",
  },
  {
    key: "request_head_max_bytes",
    variable: "EVIRT_REQUEST_HEAD_MAX_BYTES",
    type: "integer",
    defaultText: "65536",
    help: "largest request line plus headers",
  },
  {
    key: "request_bodies_max_bytes",
    variable: "EVIRT_REQUEST_BODIES_MAX_BYTES",
    type: "integer",
    defaultText: "67108864",
    help: "request body bytes held at once by all requests together",
  },
  {
    key: "network_runtime",
    variable: "EVIRT_NETWORK_RUNTIME",
    type: "boolean",
    defaultText: "true",
    help: "net-start makes bridges, dnsmasq and firewall rules; false: starts are refused",
    booleanText: ["on", "off"],
  },
  {
    key: "check_answers",
    variable: "EVIRT_CHECK_ANSWERS",
    type: "boolean",
    defaultText: "false",
    help: "check every JSON answer against its OpenAPI schema, a mismatch answered 500 (tests)",
    booleanText: ["on", "off"],
  },
  {
    key: "log",
    variable: "EVIRT_LOG",
    type: "string",
    defaultText: "sqlite",
    help: "where the event log lives: sqlite or nats://HOST:PORT[,nats://…]",
  },
  {
    key: "host",
    variable: "EVIRT_HOST",
    type: "string",
    defaultText: "the machine's host name",
    help: "this host's name in a JetStream log",
  },
  {
    key: "log_replicas",
    variable: "EVIRT_LOG_REPLICAS",
    type: "integer",
    defaultText: "1",
    help: "JetStream replicas of a new log stream",
  },
  {
    key: "host_ttl_ms",
    variable: "EVIRT_HOST_TTL_MS",
    type: "integer",
    defaultText: "10000",
    help: "how long a host's heartbeat stays valid before the fleet marks it lost",
  },
  {
    key: "log_format",
    variable: "EVIRT_LOG_FORMAT",
    type: "string",
    defaultText: "text",
    help: "the service's log lines: text or json",
  },
  {
    key: "log_level",
    variable: "EVIRT_LOG_LEVEL",
    type: "string",
    defaultText: "info",
    help: "debug, info, warn or error",
  },
  {
    key: "qemu_user",
    variable: "EVIRT_QEMU_USER",
    type: "string",
    defaultText: "evirt's own user as root, else the caller",
    help: "user QEMU runs as: a name or +ID",
  },
  {
    key: "qemu_group",
    variable: "EVIRT_QEMU_GROUP",
    type: "string",
    defaultText: "the QEMU user's group",
    help: "group QEMU runs as: a name or +ID",
  },
  {
    key: "qemu_dynamic_ownership",
    variable: "EVIRT_QEMU_DYNAMIC_OWNERSHIP",
    type: "boolean",
    defaultText: "true",
    help: "give disk images to the QEMU user while it runs",
    booleanText: ["1", "0"],
  },
  {
    key: "on_boot",
    variable: "EVIRT_ON_BOOT",
    type: "string",
    defaultText: "ignore",
    help: "libvirt-guests' ON_BOOT: start (the guests listed at the last stop) or ignore",
  },
  {
    key: "on_shutdown",
    variable: "EVIRT_ON_SHUTDOWN",
    type: "string",
    defaultText: "shutdown",
    help: "libvirt-guests' ON_SHUTDOWN: what 'host shutdown-guests' does, suspend or shutdown",
  },
  {
    key: "parallel_shutdown",
    variable: "EVIRT_PARALLEL_SHUTDOWN",
    type: "integer",
    defaultText: "0",
    help: "libvirt-guests' PARALLEL_SHUTDOWN: guests shut down at once (0: one after the other)",
  },
  {
    key: "shutdown_timeout",
    variable: "EVIRT_SHUTDOWN_TIMEOUT",
    type: "integer",
    defaultText: "300",
    help: "libvirt-guests' SHUTDOWN_TIMEOUT: seconds a guest (or, in parallel, all) may take",
  },
  {
    key: "start_delay",
    variable: "EVIRT_START_DELAY",
    type: "integer",
    defaultText: "0",
    help: "libvirt-guests' START_DELAY: seconds between two guests' starts",
  },
  {
    key: "bypass_cache",
    variable: "EVIRT_BYPASS_CACHE",
    type: "boolean",
    defaultText: "false",
    help: "libvirt-guests' BYPASS_CACHE: managed saves written and read with O_DIRECT",
    booleanText: ["1", "0"],
  },
  {
    key: "sync_time",
    variable: "EVIRT_SYNC_TIME",
    type: "boolean",
    defaultText: "false",
    help: "libvirt-guests' SYNC_TIME: the guest agent sets the clock after a start",
    booleanText: ["1", "0"],
  },
] as const satisfies readonly ConfigKey[];

/** The name of one key of {@linkcode CONFIG_KEYS}. */
export type ConfigKeyName = (typeof CONFIG_KEYS)[number]["key"];

/** The variable naming the configuration file. */
export const CONFIG_FILE_VARIABLE = "EVIRT_CONFIG";

/** The system configuration file (root's default). */
export const SYSTEM_CONFIG_FILE = "/etc/evirt/evirt.toml";

/** Largest configuration file read, in bytes: a configuration is a few hundred bytes. */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;

/**
 * The configuration file to read: `explicit` (`--config`), else `$EVIRT_CONFIG`, else the default
 * for the user (none when a user has neither `XDG_CONFIG_HOME` nor `HOME`).
 *
 * @returns The path and whether it must exist (named explicitly), or null.
 *
 * @example
 * ```ts
 * import { configFileLocation } from "./config_keys.ts";
 * console.log(configFileLocation({ HOME: "/home/u" }, 1000)?.path); // "/home/u/.config/evirt/evirt.toml"
 * ```
 */
export function configFileLocation(
  env: Record<string, string | undefined>,
  uid: number,
  explicit?: string,
): { path: string; required: boolean; source: string } | null {
  if (explicit !== undefined) return { path: explicit, required: true, source: "--config" };
  const named = env[CONFIG_FILE_VARIABLE];
  if (named !== undefined && named !== "") {
    return { path: named, required: true, source: CONFIG_FILE_VARIABLE };
  }
  if (uid === 0) return { path: SYSTEM_CONFIG_FILE, required: false, source: "default (root)" };
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg.startsWith("/")) {
    return { path: `${xdg}/evirt/evirt.toml`, required: false, source: "XDG_CONFIG_HOME" };
  }
  const home = env.HOME;
  if (home !== undefined && home.startsWith("/")) {
    return { path: `${home}/.config/evirt/evirt.toml`, required: false, source: "HOME" };
  }
  return null;
}
