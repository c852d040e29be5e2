/**
 * `evirt help` and `evirt help VERB` (also `-h` and `VERB --help`).
 *
 * @module
 */

import type { OptionSpec } from "./arguments.ts";
import { type Verb, verbOptions } from "./verb.ts";

/** One global option: its spellings, the value it takes (if any), and what it does. */
export interface GlobalOptionHelp {
  /** Short and long spellings, e.g. `["-c", "--connect"]`. */
  flags: readonly string[];
  /** The value's name, e.g. `URI`; absent for a switch. */
  value?: string;
  help: string;
}

/** The options before the command: the help, the man page and the completions read this table. */
export const GLOBAL_OPTIONS: readonly GlobalOptionHelp[] = [
  {
    flags: ["-c", "--connect"],
    value: "URI",
    help: "the connection (default: $EVIRT_DEFAULT_URI, else evirt:///system)",
  },
  { flags: ["-r", "--readonly"], help: "use the read-only connection" },
  {
    flags: ["-q", "--quiet"],
    help: "print results only: no headers, success messages or empty lines",
  },
  {
    flags: ["--token"],
    value: "TOKEN",
    help: "bearer token for http(s):// URIs (default: $EVIRT_TOKEN)",
  },
  { flags: ["-h", "--help"], help: "this help; 'evirt help COMMAND' describes one command" },
  { flags: ["-v", "--version"], help: "print the version" },
];

/** The connection URIs the CLI knows: `[uri, what it reaches]`. */
export const CONNECTION_URIS: readonly (readonly [string, string])[] = [
  ["test:///default", "an in-process test hypervisor with libvirt's default domain 'test'"],
  ["evirt:///system", "the evirt service at $EVIRT_RUNTIME_DIR/evirt.sock (evirt-ro.sock with -r)"],
  ["http(s)://HOST:PORT", "the evirt service over TCP, authenticated by a token"],
];

/** The help's closing note on read commands. */
export const JSON_NOTE =
  "Read commands take --json to print the API's JSON view instead of virsh's layout.";

/** A global option's spellings with its value, e.g. `-c, --connect URI`. */
export function globalOptionLabel(option: GlobalOptionHelp): string {
  return `${option.flags.join(", ")}${option.value === undefined ? "" : ` ${option.value}`}`;
}

/**
 * The general help: usage, global options, connection URIs, verbs.
 *
 * @example
 * ```ts ignore
 * console.log(generalHelp(await loadAllVerbs()));
 * ```
 */
export function generalHelp(verbs: readonly Verb[]): string {
  const width = Math.max(...verbs.map((verb) => verb.name.length)) + 2;
  const commands = verbs.map((verb) => `    ${verb.name.padEnd(width)}${verb.summary}\n`).join("");
  const options = GLOBAL_OPTIONS.map((option) =>
    `    ${globalOptionLabel(option).padEnd(20)}${option.help}\n`
  ).join("");
  const uris = CONNECTION_URIS.map(([uri, help]) => `    ${uri.padEnd(20)}${help}\n`).join("");
  return `usage: evirt [OPTION]... <command> [ARG]...

  options:
${options}
  connection URIs:
${uris}
  commands:
${commands}
  ${JSON_NOTE}
`;
}

/**
 * One verb's help: synopsis and options, virsh style.
 *
 * @example
 * ```ts ignore
 * console.log(verbHelp(dominfoVerb));
 * ```
 */
export function verbHelp(verb: Verb): string {
  const options = verbOptions(verb);
  const synopsis = verbSynopsis(verb);
  const labels = options.map(optionLabel);
  const width = Math.max(0, ...labels.map((label) => label.length)) + 2;
  const lines = options.map((option, index) =>
    `    ${labels[index].padEnd(width)}${option.help}\n`
  );
  return `  NAME
    ${verb.name} - ${verb.summary}

  SYNOPSIS
    ${synopsis}
${lines.length === 0 ? "" : `\n  OPTIONS\n${lines.join("")}`}${
    verb.description === undefined ? "" : `\n  DESCRIPTION\n${indent(verb.description)}`
  }`;
}

function indent(text: string): string {
  return text.trimEnd().split("\n").map((line) => line === "" ? "\n" : `    ${line}\n`).join("");
}

function valueName(option: OptionSpec): string {
  return option.kind === "integer" ? "<number>" : "<string>";
}

/** A verb's synopsis line, e.g. `shutdown [--domain] <string> [--mode <string>]`. */
export function verbSynopsis(verb: Verb): string {
  return [verb.name, ...verbOptions(verb).map(synopsisWord)].join(" ");
}

function synopsisWord(option: OptionSpec): string {
  if (option.kind === "bool") return `[--${option.name}]`;
  if (option.bareValue !== undefined) return `[--${option.name}[=${valueName(option)}]]`;
  const word = option.positional || option.rest
    ? `[--${option.name}] ${valueName(option)}`
    : `--${option.name} ${valueName(option)}`;
  return option.required ? word : `[${word}]`;
}

/** An option's label in a verb's help, e.g. `--mode <string>`. */
export function optionLabel(option: OptionSpec): string {
  if (option.kind === "bool") return `--${option.name}`;
  if (option.bareValue !== undefined) return `--${option.name}[=${valueName(option)}]`;
  return option.positional || option.rest
    ? `[--${option.name}] ${valueName(option)}`
    : `--${option.name} ${valueName(option)}`;
}
