/**
 * The configuration file syntax Xen's `xl.cfg` and `xm` files share (libvirt's `virConf`):
 * `name = value` statements separated by newlines or `;`, `#` comments, values that are
 * numbers, quoted strings (`"…"`, `'…'`, `"""…"""`) or bracketed lists of values.
 *
 * {@linkcode parseXenConf} reads such a file into an ordered list of settings;
 * {@linkcode XenConfWriter} builds one and writes it back the way libvirt does
 * (`name = value`, strings double-quoted unless they hold a `"`, lists as `[ a, b ]`).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** A value in a Xen configuration file. */
export type XenConfValue =
  | { kind: "number"; value: number; signed?: true }
  | { kind: "string"; value: string }
  | { kind: "list"; items: XenConfValue[] };

/** One setting, in file order. */
export interface XenConfSetting {
  /** The setting's name. */
  name: string;
  /** Its value. */
  value: XenConfValue;
}

/** The most bytes a configuration file may hold (libvirt's own limit is 10 MiB). */
export const XEN_CONF_MAX_BYTES = 10 * 1024 * 1024;

/** How deeply lists may nest (`vnuma` uses two levels). */
const MAX_LIST_DEPTH = 8;

/**
 * Reads a configuration file.
 *
 * @example
 * ```ts
 * import { parseXenConf } from "./xen_conf.ts";
 * const conf = parseXenConf('name = "guest"\nvcpus = 2\n');
 * console.log(conf.map((setting) => setting.name)); // ["name", "vcpus"]
 * ```
 *
 * @throws {VirtError} Code 33 (`CONF_SYNTAX`) with the line, on a syntax error.
 */
export function parseXenConf(text: string): XenConfSetting[] {
  if (text.length > XEN_CONF_MAX_BYTES) {
    throw new VirtError(
      ErrorCode.CONF_SYNTAX,
      `configuration is larger than ${XEN_CONF_MAX_BYTES} bytes`,
    );
  }
  return new ConfReader(text).statements();
}

class ConfReader {
  #at = 0;
  #line = 1;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  statements(): XenConfSetting[] {
    const settings: XenConfSetting[] = [];
    while (this.#at < this.#text.length) {
      this.#skipBlanksAndEol();
      if (this.#at >= this.#text.length) break;
      if (this.#current() === "#") {
        this.#skipToEol();
      } else {
        const name = this.#name();
        this.#skipBlanks();
        if (this.#current() !== "=") this.#fail("expecting an assignment");
        this.#at++;
        this.#skipBlanks();
        const value = this.#value(0);
        this.#skipBlanks();
        if (this.#current() === "#") this.#skipToEol();
        settings.push({ name, value });
      }
      this.#separator();
    }
    return settings;
  }

  #current(): string {
    return this.#text[this.#at] ?? "";
  }

  #fail(info: string): never {
    throw new VirtError(ErrorCode.CONF_SYNTAX, `line ${this.#line}: ${info}`, {
      where: `line ${this.#line}`,
    });
  }

  #skipBlanks(): void {
    while (this.#current() === " " || this.#current() === "\t") this.#at++;
  }

  #skipBlanksAndEol(): void {
    for (;;) {
      const char = this.#current();
      if (char === "\n") this.#line++;
      if (char === " " || char === "\t" || char === "\n" || char === "\r") this.#at++;
      else return;
    }
  }

  #skipToEol(): void {
    while (this.#at < this.#text.length && this.#current() !== "\n" && this.#current() !== "\r") {
      this.#at++;
    }
  }

  #separator(): void {
    this.#skipBlanks();
    if (this.#at >= this.#text.length) return;
    const char = this.#current();
    if (char === "\n" || char === "\r") {
      this.#skipBlanksAndEol();
    } else if (char === ";") {
      this.#at++;
      this.#skipBlanksAndEol();
    } else {
      this.#fail("expecting a separator");
    }
  }

  #name(): string {
    const start = this.#at;
    if (!/[A-Za-z]/.test(this.#current())) this.#fail("expecting a name");
    while (/[A-Za-z0-9_]/.test(this.#current())) this.#at++;
    return this.#text.slice(start, this.#at);
  }

  #value(depth: number): XenConfValue {
    this.#skipBlanks();
    if (this.#at >= this.#text.length) this.#fail("expecting a value");
    const char = this.#current();
    if (char === '"' || char === "'") return { kind: "string", value: this.#string() };
    if (char === "[") return this.#list(depth);
    if (/[0-9+-]/.test(char)) {
      // A leading '-' makes a signed number, which libvirt's unsigned and boolean getters refuse.
      return char === "-"
        ? { kind: "number", value: this.#number(), signed: true }
        : { kind: "number", value: this.#number() };
    }
    this.#fail("expecting a value");
  }

  #number(): number {
    let negative = false;
    if (this.#current() === "-" || this.#current() === "+") {
      negative = this.#current() === "-";
      this.#at++;
    }
    const start = this.#at;
    while (/[0-9]/.test(this.#current())) this.#at++;
    if (start === this.#at) this.#fail("unterminated number");
    const value = Number(this.#text.slice(start, this.#at));
    return negative ? -value : value;
  }

  #string(): string {
    if (this.#text.startsWith('"""', this.#at) && this.#at + 6 < this.#text.length) {
      const end = this.#text.indexOf('"""', this.#at + 3);
      if (end === -1) this.#fail("unterminated string");
      const value = this.#text.slice(this.#at + 3, end);
      this.#line += value.split("\n").length - 1;
      this.#at = end + 3;
      return value;
    }
    const quote = this.#current();
    this.#at++;
    const start = this.#at;
    while (
      this.#at < this.#text.length && this.#current() !== quote && this.#current() !== "\n" &&
      this.#current() !== "\r"
    ) this.#at++;
    if (this.#current() !== quote) this.#fail("unterminated string");
    const value = this.#text.slice(start, this.#at);
    this.#at++;
    return value;
  }

  #list(depth: number): XenConfValue {
    if (depth >= MAX_LIST_DEPTH) this.#fail("lists nested too deeply");
    this.#at++;
    this.#skipBlanksAndEol();
    const items: XenConfValue[] = [];
    if (this.#at < this.#text.length && this.#current() !== "]") {
      items.push(this.#value(depth + 1));
      this.#skipBlanksAndEol();
    }
    while (this.#at < this.#text.length && this.#current() !== "]") {
      if (this.#current() !== ",") this.#fail("expecting a separator in list");
      this.#at++;
      this.#skipBlanksAndEol();
      if (this.#current() === "]") break;
      items.push(this.#value(depth + 1));
      this.#skipBlanksAndEol();
    }
    if (this.#current() !== "]") this.#fail("list is not closed with ]");
    this.#at++;
    return { kind: "list", items };
  }
}

/** Read access to parsed settings, with libvirt's typed getters (`xenConfigGet*`). */
export class XenConf {
  readonly #settings: XenConfSetting[];

  /** @param settings What {@linkcode parseXenConf} read. */
  constructor(settings: XenConfSetting[]) {
    this.#settings = settings;
  }

  /** The value of the first setting of that name. */
  value(name: string): XenConfValue | undefined {
    return this.#settings.find((setting) => setting.name === name)?.value;
  }

  /** A string setting; a number or list is an error, as in libvirt. */
  string(name: string): string | undefined {
    const value = this.value(name);
    if (value === undefined) return undefined;
    if (value.kind !== "string") {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `(null): expected a string for '${name}' parameter`,
        { where: name },
      );
    }
    return value.value;
  }

  /** A string that must be present. */
  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `config value ${name} was missing`, {
        where: name,
      });
    }
    return value;
  }

  /** A boolean setting (a number, or the string `"1"`); `fallback` when absent. */
  bool(name: string, fallback: number): number {
    const value = this.value(name);
    if (value === undefined) return fallback;
    if (value.kind === "number" && value.signed !== true) return value.value !== 0 ? 1 : 0;
    if (value.kind === "string") return value.value === "1" ? 1 : 0;
    throw malformed(name);
  }

  /** An unsigned number setting (a number, or a decimal string); `fallback` when absent. */
  unsigned(name: string, fallback: number): number {
    const value = this.value(name);
    if (value === undefined) return fallback;
    if (value.kind === "number" && value.signed !== true) return value.value;
    if (value.kind === "string" && /^\s*[0-9]+$/.test(value.value)) return Number(value.value);
    throw malformed(name);
  }

  /**
   * A list of strings: undefined when absent; a string or number where a list belongs is
   * ignored (as libvirt does); a list holding anything but strings is an error.
   */
  stringList(name: string): string[] | undefined {
    const value = this.value(name);
    if (value === undefined || value.kind !== "list") return undefined;
    return value.items.map((item) => {
      if (item.kind !== "string") {
        throw new VirtError(
          ErrorCode.CONF_SYNTAX,
          `(null): expected a string list for '${name}' parameter`,
          { where: name },
        );
      }
      return item.value;
    });
  }
}

function malformed(name: string): VirtError {
  return new VirtError(ErrorCode.INTERNAL_ERROR, `config value ${name} was malformed`, {
    where: name,
  });
}

/** Builds a configuration in order; setting a name again replaces its value in place. */
export class XenConfWriter {
  readonly #settings: XenConfSetting[] = [];

  /** Sets a number. */
  number(name: string, value: number): void {
    this.set(name, { kind: "number", value });
  }

  /** Sets a string. */
  string(name: string, value: string): void {
    this.set(name, { kind: "string", value });
  }

  /** Sets a list of strings. */
  strings(name: string, values: string[]): void {
    this.set(name, {
      kind: "list",
      items: values.map((value) => ({ kind: "string", value })),
    });
  }

  /** Sets any value. */
  set(name: string, value: XenConfValue): void {
    const existing = this.#settings.find((setting) => setting.name === name);
    if (existing !== undefined) existing.value = value;
    else this.#settings.push({ name, value });
  }

  /** The file text, one `name = value` line per setting. */
  text(): string {
    return this.#settings.map((setting) => `${setting.name} = ${formatValue(setting.value)}\n`)
      .join("");
  }
}

function formatValue(value: XenConfValue): string {
  switch (value.kind) {
    case "number":
      return String(value.value);
    case "string":
      if (value.value.includes("\n")) return `"""${value.value}"""`;
      if (!value.value.includes('"')) return `"${value.value}"`;
      if (!value.value.includes("'")) return `'${value.value}'`;
      return `"""${value.value}"""`;
    case "list":
      return `[ ${value.items.map(formatValue).join(", ")} ]`;
  }
}
