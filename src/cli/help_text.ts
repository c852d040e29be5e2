/**
 * `evirt help` and `evirt help VERB` (also `-h` and `VERB --help`).
 *
 * @module
 */

import type { OptionSpec } from "./arguments.ts";
import { type Verb, verbOptions } from "./verb.ts";

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
  return `usage: evirt [OPTION]... <command> [ARG]...

  options:
    -c, --connect URI   the connection (default: $EVIRT_DEFAULT_URI, else evirt:///system)
    -r, --readonly      use the read-only connection
    -q, --quiet         print results only: no headers, success messages or empty lines
    --token TOKEN       bearer token for http(s):// URIs (default: $EVIRT_TOKEN)
    -h, --help          this help; 'evirt help COMMAND' describes one command
    -v, --version       print the version

  connection URIs:
    test:///default     an in-process test hypervisor with libvirt's default domain 'test'
    evirt:///system     the evirt service at $EVIRT_RUNTIME_DIR/evirt.sock (evirt-ro.sock with -r)
    http(s)://HOST:PORT the evirt service over TCP, authenticated by a token

  commands:
${commands}
  Read commands take --json to print the API's JSON view instead of virsh's layout.
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
  const synopsis = [verb.name, ...options.map(synopsisWord)].join(" ");
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

function synopsisWord(option: OptionSpec): string {
  if (option.kind === "bool") return `[--${option.name}]`;
  if (option.bareValue !== undefined) return `[--${option.name}[=${valueName(option)}]]`;
  const word = option.positional || option.rest
    ? `[--${option.name}] ${valueName(option)}`
    : `--${option.name} ${valueName(option)}`;
  return option.required ? word : `[${word}]`;
}

function optionLabel(option: OptionSpec): string {
  if (option.kind === "bool") return `--${option.name}`;
  if (option.bareValue !== undefined) return `--${option.name}[=${valueName(option)}]`;
  return option.positional || option.rest
    ? `[--${option.name}] ${valueName(option)}`
    : `--${option.name} ${valueName(option)}`;
}
