/**
 * Command-line parsing with virsh's rules and messages: global options before the verb
 * (`-c URI`, `-r`, `-q`, …), then the verb's own options, which take `--name value`,
 * `--name=value`, or, for the options virsh marks as data, plain words in order (`dominfo test` is
 * `dominfo --domain test`). `--` makes every later word plain data.
 *
 * Bad input is refused before anything runs, with virsh's wording and the offending option named.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** The kinds of option values. */
export type OptionKind = "bool" | "string" | "integer";

/** One option of a verb. */
export interface OptionSpec {
  /** The long name, without dashes (`domain`). */
  name: string;
  kind: OptionKind;
  /** One line for `help VERB`. */
  help: string;
  /** May be given as a plain word (virsh's data options), filled in declaration order. */
  positional?: boolean;
  /** Must be given. */
  required?: boolean;
  /** Takes every remaining plain word (virsh's argv options), joined by spaces. */
  rest?: boolean;
  /**
   * May be given more than once (virsh's argv options given as `--diskspec A --diskspec B`):
   * every value, with the plain words of a `rest` option, is in {@linkcode VerbArguments.list}.
   */
  repeatable?: boolean;
  /** For integers: the smallest value accepted. Default 0. */
  min?: number;
  /** For integers: the largest value accepted. Default `Number.MAX_SAFE_INTEGER`. */
  max?: number;
  /**
   * The value of the option given bare (`--wait`); a value then comes only as `--wait=VALUE`, so
   * the next word stays a word of its own.
   */
  bareValue?: number;
}

/**
 * A command line that cannot be run, with virsh's message (printed after `error: `). `where`
 * names the option at fault.
 *
 * @example
 * ```ts
 * import { ArgumentError } from "./arguments.ts";
 * const error = new ArgumentError("unexpected data 'x'", "x");
 * console.log(error.message); // "unexpected data 'x'"
 * ```
 */
export class ArgumentError extends VirtError {
  /**
   * @param message virsh's message.
   * @param where The option or word at fault.
   */
  constructor(message: string, where: string) {
    super(ErrorCode.INVALID_ARG, message, { where });
    this.name = "ArgumentError";
  }
}

/**
 * The parsed options of one verb.
 *
 * @example
 * ```ts
 * import { parseVerbArguments } from "./arguments.ts";
 * const parsed = parseVerbArguments("domstate", [
 *   { name: "domain", kind: "string", help: "", positional: true, required: true },
 *   { name: "reason", kind: "bool", help: "" },
 * ], ["test", "--reason"]);
 * console.log(parsed.text("domain"), parsed.flag("reason")); // "test" true
 * ```
 */
export class VerbArguments {
  readonly #values: ReadonlyMap<string, string | number | boolean>;
  readonly #words: ReadonlyMap<string, readonly string[]>;

  /**
   * @param values The value of each option given.
   * @param words The separate words of each `rest` option given (its value joins them).
   */
  constructor(
    values: ReadonlyMap<string, string | number | boolean>,
    words: ReadonlyMap<string, readonly string[]> = new Map(),
  ) {
    this.#values = values;
    this.#words = words;
  }

  /** The words of a `rest` option (virsh's argv options, e.g. domstats' domains), or none. */
  list(name: string): readonly string[] {
    return this.#words.get(name) ?? [];
  }

  /** Whether the option was given. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** A boolean option: true when given. */
  flag(name: string): boolean {
    return this.#values.get(name) === true;
  }

  /** A string option, or undefined. */
  text(name: string): string | undefined {
    const value = this.#values.get(name);
    return typeof value === "string" ? value : undefined;
  }

  /** A string option that the specs mark required (so the parser already checked it). */
  required(name: string): string {
    const value = this.text(name);
    if (value === undefined) throw new Error(`Option --${name} is not a given string option`);
    return value;
  }

  /** An integer option, or undefined. */
  integer(name: string): number | undefined {
    const value = this.#values.get(name);
    return typeof value === "number" ? value : undefined;
  }
}

/**
 * Parses a verb's words against its option specs.
 *
 * @param verb The verb's name, for messages.
 * @param specs The verb's options.
 * @param words The words after the verb.
 * @throws {ArgumentError} On an unknown option, a missing or malformed value, a repeated option,
 *   an extra word, or a missing required option; the message is virsh's.
 */
export function parseVerbArguments(
  verb: string,
  specs: readonly OptionSpec[],
  words: readonly string[],
): VerbArguments {
  const values = new Map<string, string | number | boolean>();
  const positional = specs.filter((spec) => spec.positional || spec.rest);
  const restWords: string[] = [];
  const repeated = new Map<string, string[]>();
  let restSpec: OptionSpec | undefined;
  let dataOnly = false;
  for (let index = 0; index < words.length; index++) {
    const word = words[index];
    if (!dataOnly && word === "--") {
      dataOnly = true;
      continue;
    }
    if (!dataOnly && word.startsWith("--") && word.length > 2) {
      const equals = word.indexOf("=");
      const name = equals === -1 ? word.slice(2) : word.slice(2, equals);
      const spec = specs.find((each) => each.name === name);
      if (spec === undefined) {
        throw new ArgumentError(`command '${verb}' doesn't support option --${name}`, `--${name}`);
      }
      if (values.has(name) && !spec.repeatable) {
        throw new ArgumentError(`option --${name} already seen`, `--${name}`);
      }
      if (spec.kind === "bool") {
        if (equals !== -1) {
          throw new ArgumentError(`option --${name} does not take a value`, `--${name}`);
        }
        values.set(name, true);
        continue;
      }
      if (spec.bareValue !== undefined && equals === -1) {
        values.set(name, spec.bareValue);
        continue;
      }
      let text: string;
      if (equals !== -1) {
        text = word.slice(equals + 1);
      } else {
        if (index + 1 >= words.length) throw missingValue(spec);
        text = words[++index];
      }
      if (spec.repeatable) {
        repeated.set(name, [...(repeated.get(name) ?? []), text]);
        values.set(name, (repeated.get(name) ?? []).join(" "));
        continue;
      }
      values.set(name, convert(spec, text));
      continue;
    }
    if (restSpec !== undefined) {
      restWords.push(word);
      continue;
    }
    const next = positional.find((spec) =>
      !values.has(spec.name) || (spec.rest === true && spec.repeatable === true)
    );
    if (next === undefined) throw new ArgumentError(`unexpected data '${word}'`, word);
    if (next.rest) {
      restSpec = next;
      restWords.push(word);
    } else {
      values.set(next.name, convert(next, word));
    }
  }
  const restLists = new Map<string, readonly string[]>(repeated);
  if (restSpec !== undefined) {
    const all = [...(repeated.get(restSpec.name) ?? []), ...restWords];
    values.set(restSpec.name, all.join(" "));
    restLists.set(restSpec.name, all);
  }
  for (const spec of specs) {
    if (spec.required && !values.has(spec.name)) {
      throw new ArgumentError(
        spec.positional
          ? `command '${verb}' requires <${spec.name}> option`
          : `command '${verb}' requires --${spec.name} option`,
        `--${spec.name}`,
      );
    }
  }
  return new VerbArguments(values, restLists);
}

function missingValue(spec: OptionSpec): ArgumentError {
  const type = spec.kind === "integer" ? "number" : "string";
  return new ArgumentError(`expected syntax: --${spec.name} <${type}>`, `--${spec.name}`);
}

function convert(spec: OptionSpec, text: string): string | number {
  if (spec.kind === "string") return text;
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const value = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ArgumentError(
      `Numeric value '${text}' for <${spec.name}> option is malformed or out of range`,
      `--${spec.name}`,
    );
  }
  return value;
}

/** The options before the verb. */
export interface GlobalOptions {
  /** `-c URI` / `--connect URI`. */
  connect?: string;
  /** `-r` / `--readonly`: the read-only connection. */
  readonly: boolean;
  /** `-q` / `--quiet`: no headers, no success messages, no empty line after each command. */
  quiet: boolean;
  /** `-h` / `--help`. */
  help: boolean;
  /** `-v` / `--version`: print the version and exit. */
  version: boolean;
  /** `--token TOKEN`: the bearer token for `http(s)://` URIs (else `EVIRT_TOKEN`). */
  token?: string;
  /** The verb, if any. */
  verb?: string;
  /** The words after the verb. */
  verbWords: string[];
}

const GLOBAL_VALUE_OPTIONS: Readonly<Record<string, "connect" | "token">> = {
  "-c": "connect",
  "--connect": "connect",
  "--token": "token",
};
const GLOBAL_FLAGS: Readonly<Record<string, "readonly" | "quiet" | "help" | "version">> = {
  "-r": "readonly",
  "--readonly": "readonly",
  "-q": "quiet",
  "--quiet": "quiet",
  "-h": "help",
  "--help": "help",
  "-v": "version",
  "--version": "version",
};

/**
 * Parses the global options that precede the verb (`evirt -c test:///default -r list`).
 *
 * @throws {ArgumentError} On an unknown option or a missing value.
 *
 * @example
 * ```ts
 * import { parseGlobalOptions } from "./arguments.ts";
 * const options = parseGlobalOptions(["-c", "test:///default", "list", "--all"]);
 * console.log(options.connect, options.verb, options.verbWords); // "test:///default" "list" ["--all"]
 * ```
 */
export function parseGlobalOptions(words: readonly string[]): GlobalOptions {
  const options: GlobalOptions = {
    readonly: false,
    quiet: false,
    help: false,
    version: false,
    verbWords: [],
  };
  for (let index = 0; index < words.length; index++) {
    const word = words[index];
    if (!word.startsWith("-") || word === "-") {
      options.verb = word;
      options.verbWords = words.slice(index + 1);
      return options;
    }
    const equals = word.startsWith("--") ? word.indexOf("=") : -1;
    const name = equals === -1 ? word : word.slice(0, equals);
    const flag = GLOBAL_FLAGS[name];
    if (flag !== undefined && equals === -1) {
      options[flag] = true;
      continue;
    }
    // getopt style: `-cURI` as well as `-c URI`.
    const key = GLOBAL_VALUE_OPTIONS[name] ??
      (word.startsWith("-c") && word.length > 2 ? "connect" : undefined);
    if (key === undefined) {
      throw new ArgumentError(`unsupported option '${word}'. See --help.`, word);
    }
    if (equals !== -1) {
      options[key] = word.slice(equals + 1);
    } else if (name === word && GLOBAL_VALUE_OPTIONS[name] !== undefined) {
      if (index + 1 >= words.length) {
        throw new ArgumentError(`option '${word}' requires an argument`, word);
      }
      options[key] = words[++index];
    } else {
      options[key] = word.slice(2);
    }
  }
  return options;
}
