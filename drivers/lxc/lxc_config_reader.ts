/**
 * Reads an LXC tools configuration (`/var/lib/lxc/NAME/config`) into its entries, as libvirt
 * 9.0's configuration reader does in its LXC mode (`virConfReadString` with
 * `VIR_CONF_FLAG_LXC_FORMAT`):
 *
 * - a statement is `name = value`; a name starts with a letter and goes on with letters,
 *   digits, `_` and `.`; blanks (space, tab) may surround the `=`;
 * - a value is the rest of the line, verbatim (no comment after it, trailing blanks kept), or
 *   a quoted string (`'…'`, `"…"`, `"""…"""`), after which a `# comment` may follow;
 * - `#` at the start of a statement is a comment to the end of the line; statements end at a
 *   line end or `;`;
 * - an entry may repeat; readers take the first (`firstValue`) or walk them all in order.
 *
 * A malformed line is code 33 (CONF_SYNTAX) with libvirt's wording, `memory conf:LINE: …`.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** The largest configuration read, in bytes (libvirt's limit on configuration files). */
export const LXC_CONFIG_BYTES_MAX = 10 * 1024 * 1024;

/** One `name = value` statement. */
export interface LxcConfigEntry {
  /** The key, e.g. `lxc.net.0.type`. */
  name: string;
  /** The value as read (unquoted when it was quoted). */
  value: string;
  /** The line the statement starts on, from 1. */
  line: number;
}

/** The file name libvirt's messages give a configuration read from memory. */
const SOURCE_NAME = "memory conf";

/**
 * Reads `text` as an LXC tools configuration.
 *
 * @param text The configuration.
 * @returns Its statements, in order.
 * @throws {VirtError} Code 33 for a syntax error (with the line in `where`); code 8 for a text
 *   larger than {@linkcode LXC_CONFIG_BYTES_MAX}.
 *
 * @example
 * ```ts
 * import { readLxcConfig } from "./lxc_config_reader.ts";
 * const entries = readLxcConfig("# a container\nlxc.uts.name = web\nlxc.net.0.type=veth\n");
 * console.log(entries.map((entry) => `${entry.name}=${entry.value}`)); // ["lxc.uts.name=web", "lxc.net.0.type=veth"]
 * ```
 */
export function readLxcConfig(text: string): LxcConfigEntry[] {
  if (new TextEncoder().encode(text).length > LXC_CONFIG_BYTES_MAX) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `configuration larger than ${LXC_CONFIG_BYTES_MAX} bytes`,
    );
  }
  return new ConfigParser(text).parse();
}

function isBlank(char: string | undefined): boolean {
  return char === " " || char === "\t";
}

function isEol(char: string | undefined): boolean {
  return char === "\n" || char === "\r";
}

function isAlpha(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z]$/.test(char);
}

function isNameChar(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9_.]$/.test(char);
}

/** One pass over the text, as libvirt's reader walks it (one position, one line counter). */
class ConfigParser {
  #cur = 0;
  #line = 1;
  readonly #entries: LxcConfigEntry[] = [];

  constructor(readonly text: string) {}

  parse(): LxcConfigEntry[] {
    while (this.#cur < this.text.length) {
      this.#statement();
      this.#separator();
    }
    return this.#entries;
  }

  #peek(): string | undefined {
    return this.text[this.#cur];
  }

  #fail(message: string): VirtError {
    return new VirtError(ErrorCode.CONF_SYNTAX, `${SOURCE_NAME}:${this.#line}: ${message}`, {
      where: `line ${this.#line}`,
    });
  }

  #skipBlanks(): void {
    while (this.#cur < this.text.length && isBlank(this.#peek())) this.#cur++;
  }

  #skipBlanksAndEol(): void {
    while (this.#cur < this.text.length && (isBlank(this.#peek()) || isEol(this.#peek()))) {
      if (this.#peek() === "\n") this.#line++;
      this.#cur++;
    }
  }

  #toEol(): void {
    while (this.#cur < this.text.length && !isEol(this.#peek())) this.#cur++;
  }

  #statement(): void {
    // At the end of the text this finds no name, as libvirt's reader does (a text of blank
    // lines only is a syntax error there).
    this.#skipBlanksAndEol();
    if (this.#peek() === "#") {
      this.#toEol();
      return;
    }
    const line = this.#line;
    this.#skipBlanks();
    const base = this.#cur;
    if (!isAlpha(this.#peek())) throw this.#fail("expecting a name");
    while (this.#cur < this.text.length && isNameChar(this.#peek())) this.#cur++;
    const name = this.text.slice(base, this.#cur);
    this.#skipBlanks();
    if (this.#peek() !== "=") throw this.#fail("expecting an assignment");
    this.#cur++;
    this.#skipBlanks();
    const value = this.#value();
    this.#skipBlanks();
    if (this.#peek() === "#") this.#toEol();
    this.#entries.push({ name, value, line });
  }

  #value(): string {
    this.#skipBlanks();
    if (this.#cur >= this.text.length) throw this.#fail("expecting a value");
    if (this.#peek() === "'") return this.#quoted("'");
    if (this.#cur + 6 < this.text.length && this.text.startsWith('"""', this.#cur)) {
      this.#cur += 3;
      const base = this.#cur;
      while (this.#cur + 2 < this.text.length && !this.text.startsWith('"""', this.#cur)) {
        if (this.#peek() === "\n") this.#line++;
        this.#cur++;
      }
      if (!this.text.startsWith('"""', this.#cur)) throw this.#fail("unterminated string");
      const value = this.text.slice(base, this.#cur);
      this.#cur += 3;
      return value;
    }
    if (this.#peek() === '"') return this.#quoted('"');
    // The LXC form: the rest of the line, trailing blanks included (libvirt's reader steps
    // back over blanks only from the line end character, which is never one).
    const base = this.#cur;
    this.#toEol();
    return this.text.slice(base, this.#cur);
  }

  #quoted(quote: string): string {
    this.#cur++;
    const base = this.#cur;
    while (this.#cur < this.text.length && this.#peek() !== quote && !isEol(this.#peek())) {
      this.#cur++;
    }
    if (this.#peek() !== quote) throw this.#fail("unterminated string");
    const value = this.text.slice(base, this.#cur);
    this.#cur++;
    return value;
  }

  #separator(): void {
    this.#skipBlanks();
    if (this.#cur >= this.text.length) return;
    if (isEol(this.#peek())) {
      this.#skipBlanksAndEol();
    } else if (this.#peek() === ";") {
      this.#cur++;
      this.#skipBlanksAndEol();
    } else {
      throw this.#fail("expecting a separator");
    }
  }
}

/**
 * The value of the first statement named `name`, as libvirt's `virConfGetValue` finds it.
 *
 * @example
 * ```ts
 * import { firstValue, readLxcConfig } from "./lxc_config_reader.ts";
 * console.log(firstValue(readLxcConfig("a.b = 1\na.b = 2\n"), "a.b")); // "1"
 * ```
 */
export function firstValue(entries: readonly LxcConfigEntry[], name: string): string | undefined {
  return entries.find((entry) => entry.name === name)?.value;
}
