/**
 * The `.vmx` text format as libvirt reads it (its configuration-file parser in VMX mode): one
 * `name = "value"` entry a line, `#` comments, names of letters, digits, `_`, `.`, `:` and `-`,
 * values always quoted (no numbers, no lists), names compared without regard to case, and the
 * first entry of a name winning.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** The largest `.vmx` text read, in characters (real files are a few KiB). */
export const VMX_MAX_CHARS = 1024 * 1024;

/**
 * The text of a `.vmx` file from its bytes: UTF-8 when they are valid UTF-8, else one character
 * per byte, which the conversion decodes again by the file's `.encoding` (VMware writes, for
 * example, `windows-1252`).
 *
 * @example
 * ```ts
 * import { vmxTextFromBytes } from "./vmx_text.ts";
 * console.log(vmxTextFromBytes(new Uint8Array([0x41, 0xd6])).charCodeAt(1)); // 214
 * ```
 */
export function vmxTextFromBytes(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    let text = "";
    // Chunks keep the argument list of fromCharCode short.
    for (let at = 0; at < bytes.length; at += 8192) {
      text += String.fromCharCode(...bytes.subarray(at, at + 8192));
    }
    return text;
  }
}

/** The entries of a `.vmx` file, looked up by name without regard to case. */
export class VmxEntries {
  readonly #values = new Map<string, string>();
  readonly #names: string[] = [];

  /** Adds an entry; a later entry of a name already present is kept in `names` only. */
  add(name: string, value: string): void {
    const key = name.toLowerCase();
    this.#names.push(name);
    if (!this.#values.has(key)) this.#values.set(key, value);
  }

  /** The value of `name`, or undefined. */
  get(name: string): string | undefined {
    return this.#values.get(name.toLowerCase());
  }

  /** Every entry name in file order. */
  get names(): readonly string[] {
    return this.#names;
  }
}

/**
 * Reads `.vmx` text.
 *
 * @throws {VirtError} Code 33 (configuration syntax) with the line number in `where`; code 1
 *   for text beyond {@linkcode VMX_MAX_CHARS}.
 *
 * @example
 * ```ts
 * import { readVmx } from "./vmx_text.ts";
 * const vmx = readVmx('config.version = "8"\nDisplayName = "demo"\n');
 * console.log(vmx.get("displayname")); // "demo"
 * ```
 */
export function readVmx(text: string): VmxEntries {
  if (text.length > VMX_MAX_CHARS) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `VMX text longer than ${VMX_MAX_CHARS} characters`,
    );
  }
  const entries = new VmxEntries();
  const length = text.length;
  let at = 0;
  let line = 1;
  const fail = (message: string): never => {
    throw new VirtError(ErrorCode.CONF_SYNTAX, `line ${line}: ${message}`, {
      where: `line ${line}`,
    });
  };
  const isBlank = (char: string) => char === " " || char === "\t";
  const isEol = (char: string) => char === "\n" || char === "\r";
  const skipBlanks = () => {
    while (at < length && isBlank(text[at])) at++;
  };
  const skipBlanksAndEol = () => {
    while (at < length && (isBlank(text[at]) || isEol(text[at]))) {
      if (text[at] === "\n") line++;
      at++;
    }
  };
  const skipComment = () => {
    while (at < length && !isEol(text[at])) at++;
  };
  while (true) {
    skipBlanksAndEol();
    if (at >= length) break;
    if (text[at] === "#") {
      skipComment();
      continue;
    }
    const nameStart = at;
    if (!/[A-Za-z.]/.test(text[at])) fail("expecting a name");
    while (at < length && /[A-Za-z0-9_:.\-]/.test(text[at])) at++;
    const name = text.slice(nameStart, at);
    skipBlanks();
    if (text[at] !== "=") fail("expecting an assignment");
    at++;
    skipBlanks();
    const value = readValue();
    skipBlanks();
    if (text[at] === "#") skipComment();
    entries.add(name, value);
    // A statement ends at the end of the text, a line end or a `;`.
    skipBlanks();
    if (at >= length) break;
    if (text[at] === ";") at++;
    else if (!isEol(text[at])) fail("expecting a separator");
  }
  return entries;

  function readValue(): string {
    const char = text[at];
    if (char === "[") fail("lists not allowed in VMX format");
    if (char === "-" || char === "+" || /[0-9]/.test(char ?? "")) {
      fail("numbers not allowed in VMX format");
    }
    if (char === "'") {
      const start = ++at;
      while (at < length && text[at] !== "'" && !isEol(text[at])) at++;
      if (text[at] !== "'") fail("unterminated string");
      return text.slice(start, at++);
    }
    if (text.startsWith('"""', at)) {
      const start = at + 3;
      const end = text.indexOf('"""', start);
      if (end === -1) fail("unterminated string");
      for (let index = start; index < end; index++) if (text[index] === "\n") line++;
      at = end + 3;
      return text.slice(start, end);
    }
    if (char === '"') {
      const start = ++at;
      while (at < length && text[at] !== '"' && !isEol(text[at])) at++;
      if (text[at] !== '"') fail("unterminated string");
      return text.slice(start, at++);
    }
    return fail("expecting a value");
  }
}
