/**
 * What a verb is: its name, its options (virsh's names), and a `run` that talks to the service
 * through the typed client and prints through the context. Adding a verb is one file in
 * `src/cli/verbs/`, its name in the operations table's row (`src/model/operations.ts`), and one
 * loader line in `src/cli/verb_registry.ts`.
 *
 * Output rules: stdout carries only the result, in virsh's layout; warnings go to stderr as
 * `warning: …`, progress to stderr only when it is a terminal.
 *
 * @module
 */

import type { EvirtClient } from "../client/client.ts";
import type { OptionSpec, VerbArguments } from "./arguments.ts";
import type { Connection, ConnectionOptions } from "./connection.ts";
import type { Progress } from "./progress.ts";

/** The process around the CLI: streams, environment, signals. Replaceable in tests. */
export interface CliIo {
  /** Writes all of `text` to stdout. */
  stdout(text: string): void;
  /** Writes raw bytes to stdout (`secret-get-value --plain`); absent, bytes go as UTF-8 text. */
  stdoutBytes?(bytes: Uint8Array): void;
  /** Writes all of `text` to stderr. */
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress is shown only then). */
  stderrIsTerminal: boolean;
  /** The environment. */
  env: Record<string, string | undefined>;
  /** The effective user id (for default directories). */
  uid: number;
  /** Calls `listener` on SIGINT until the returned function is called. */
  onInterrupt(listener: () => void): () => void;
  /** Opens the connection (default `openConnection`; tests share one in-process host). */
  connect?: (options: ConnectionOptions) => Promise<Connection>;
}

/** What a verb gets to run. */
export interface VerbContext {
  io: CliIo;
  /** The client of the connection (verbs marked `offline` get none and must not use it). */
  client: EvirtClient;
  /** Whether there is a connection (false for offline verbs, or when an optional one failed). */
  hasConnection: boolean;
  /** The connection URI. */
  uri: string;
  /** `-q`: no headers, no success messages. */
  quiet: boolean;
  /** Largest domain XML document, in bytes (files larger are refused before sending). */
  xmlMaxBytes: number;
  progress: Progress;
  /** Prints the result (stdout). */
  print(text: string): void;
  /** Prints what virsh leaves out with `-q`: headers, success messages (stdout). */
  printExtra(text: string): void;
  /** Prints a value as JSON (stdout), for `--json`. */
  json(value: unknown): void;
  /** Prints `warning: …` on stderr. */
  warn(message: string): void;
}

/** What a verb may ask of the dispatcher after running. */
export interface VerbOutcome {
  /** The exit code (default 0); virsh's `event` exits 1 when no event came. */
  exitCode?: number;
}

/** One verb of the CLI. */
export interface Verb {
  /** virsh's name, e.g. `dominfo`. */
  name: string;
  /** One line for `help`. */
  summary: string;
  /** More text for `VERB --help` and the man page, after the options (plain lines). */
  description?: string;
  /** The options, in virsh's order (data options are filled from plain words in this order). */
  options: readonly OptionSpec[];
  /** A read command: gets `--json`, which prints the API view instead of virsh's layout. */
  json?: boolean;
  /** Needs no connection (`uri`, `help`). */
  offline?: boolean;
  /**
   * Runs without a connection when none can be made (`version` prints the client's own lines
   * and warns); `context.hasConnection` tells which.
   */
  connectionOptional?: boolean;
  /** Runs the verb; throws to fail (see `command_failure.ts`). */
  run(context: VerbContext, args: VerbArguments): Promise<VerbOutcome | void>;
}

/** virsh's `<domain>` data option: a name, id or uuid. */
export const DOMAIN_OPTION: OptionSpec = {
  name: "domain",
  kind: "string",
  positional: true,
  required: true,
  help: "domain name, id or uuid",
};

/** The positional interface of `domif-getlink`, `domif-setlink` and `domiftune`. */
export const INTERFACE_OPTION: OptionSpec = {
  name: "interface",
  kind: "string",
  positional: true,
  required: true,
  help: "interface device (MAC Address)",
};

/** The `--json` option every read command has. */
export const JSON_OPTION: OptionSpec = {
  name: "json",
  kind: "bool",
  help: "print the API's JSON view instead of virsh's layout",
};

/**
 * The options a verb accepts: its own, plus `--json` for read commands.
 *
 * @example
 * ```ts ignore
 * verbOptions(dominfoVerb).map((option) => option.name); // ["domain", "json"]
 * ```
 */
export function verbOptions(verb: Verb): readonly OptionSpec[] {
  return verb.json ? [...verb.options, JSON_OPTION] : verb.options;
}
