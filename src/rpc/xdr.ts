/**
 * A small table-driven XDR codec (RFC 4506) for libvirt's wire protocol: a type is plain data
 * (`{ kind: "struct", fields: [...] }`), and one encoder and one decoder walk it. Every variable
 * length has its declared maximum checked before anything is allocated, strings must be UTF-8,
 * and a truncated input is an error naming the field, never a partial value.
 *
 * Values: `int`/`uint`/`bool`/`double` are numbers (bool: boolean); `hyper`/`uhyper` decode to
 * bigint and encode from bigint or a safe integer; `string` is a JS string; `opaque`/`fixed` are
 * Uint8Array; `optional` is the value or null; `array` is a JS array; `struct` is an object;
 * `union` is `{ type: number, value }`.
 *
 * The file is a little over 400 lines because the reader and the writer walk the same type table
 * case by case and are easiest to check side by side.
 *
 * @module
 */

/** An XDR type as data. */
export type XdrType =
  | { kind: "void" }
  | { kind: "int" }
  | { kind: "uint" }
  | { kind: "hyper" }
  | { kind: "uhyper" }
  | { kind: "bool" }
  | { kind: "double" }
  | { kind: "string"; max: number }
  | { kind: "opaque"; max: number }
  | { kind: "fixed"; length: number }
  | { kind: "optional"; of: XdrType }
  | { kind: "array"; of: XdrType; max: number }
  | { kind: "vector"; of: XdrType; length: number }
  | { kind: "struct"; fields: ReadonlyArray<readonly [string, XdrType]> }
  | { kind: "union"; arms: Readonly<Record<number, XdrType>> };

/** A decoded union value: the discriminant and the arm's value. */
export interface XdrUnionValue {
  type: number;
  value: unknown;
}

/** Why XDR input or output was refused. */
export class XdrError extends Error {
  /**
   * @param message What is wrong, naming the field (`dom.name`) where known.
   */
  constructor(message: string) {
    super(message);
    this.name = "XdrError";
  }
}

/** Type constructors, so tables read like the protocol files. */
export const x = {
  void: { kind: "void" } as XdrType,
  int: { kind: "int" } as XdrType,
  uint: { kind: "uint" } as XdrType,
  hyper: { kind: "hyper" } as XdrType,
  uhyper: { kind: "uhyper" } as XdrType,
  bool: { kind: "bool" } as XdrType,
  double: { kind: "double" } as XdrType,
  string: (max: number): XdrType => ({ kind: "string", max }),
  opaque: (max: number): XdrType => ({ kind: "opaque", max }),
  fixed: (length: number): XdrType => ({ kind: "fixed", length }),
  optional: (of: XdrType): XdrType => ({ kind: "optional", of }),
  array: (of: XdrType, max: number): XdrType => ({ kind: "array", of, max }),
  vector: (of: XdrType, length: number): XdrType => ({ kind: "vector", of, length }),
  struct: (...fields: Array<readonly [string, XdrType]>): XdrType => ({ kind: "struct", fields }),
  union: (arms: Record<number, XdrType>): XdrType => ({ kind: "union", arms }),
};

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

const INT_MIN = -0x8000_0000;
const INT_MAX = 0x7fff_ffff;
const UINT_MAX = 0xffff_ffff;

/** Bytes of padding after `length` bytes of data. */
function padding(length: number): number {
  return (4 - (length % 4)) % 4;
}

/**
 * Decodes one value of `type` from `bytes` starting at `offset`.
 *
 * @returns The value and the offset after it.
 * @throws {XdrError} On truncated input, a length over its maximum, a string that is not UTF-8,
 *   a boolean other than 0 or 1, an optional flag other than 0 or 1, or an unknown union arm.
 *
 * @example
 * ```ts
 * import { decodeXdr, x } from "./xdr.ts";
 * const bytes = new Uint8Array([0, 0, 0, 2, 0x68, 0x69, 0, 0]);
 * console.log(decodeXdr(x.string(16), bytes).value); // "hi"
 * ```
 */
export function decodeXdr(
  type: XdrType,
  bytes: Uint8Array,
  offset = 0,
): { value: unknown; offset: number } {
  const reader = new XdrReader(bytes, offset);
  const value = reader.read(type, "");
  return { value, offset: reader.offset };
}

/**
 * Encodes `value` as `type`.
 *
 * @param maxBytes Refuse output larger than this (bounded buffers). Default 32 MiB.
 * @throws {XdrError} When the value does not fit the type (missing field, out-of-range number,
 *   length over its maximum) or the output would exceed `maxBytes`.
 *
 * @example
 * ```ts
 * import { encodeXdr, x } from "./xdr.ts";
 * console.log(encodeXdr(x.struct(["a", x.int], ["b", x.bool]), { a: -1, b: true }));
 * // Uint8Array(8) [255, 255, 255, 255, 0, 0, 0, 1]
 * ```
 */
export function encodeXdr(type: XdrType, value: unknown, maxBytes = 32 * 1024 * 1024): Uint8Array {
  const writer = new XdrWriter(maxBytes);
  writer.write(type, value, "");
  return writer.bytes();
}

class XdrReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  offset: number;

  constructor(bytes: Uint8Array, offset: number) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }

  #need(count: number, path: string): void {
    if (this.offset + count > this.#bytes.length) {
      throw new XdrError(
        `truncated XDR at ${path || "value"}: ${count} bytes needed at offset ${this.offset}, ${
          Math.max(0, this.#bytes.length - this.offset)
        } left`,
      );
    }
  }

  #uint(path: string): number {
    this.#need(4, path);
    const value = this.#view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  #length(max: number, path: string, what: string): number {
    const length = this.#uint(path);
    if (length > max) {
      throw new XdrError(`${what} ${path || "value"} has ${length} elements, more than ${max}`);
    }
    return length;
  }

  #raw(length: number, path: string): Uint8Array {
    this.#need(length + padding(length), path);
    const slice = this.#bytes.slice(this.offset, this.offset + length);
    this.offset += length + padding(length);
    return slice;
  }

  read(type: XdrType, path: string): unknown {
    switch (type.kind) {
      case "void":
        return null;
      case "int": {
        this.#need(4, path);
        const value = this.#view.getInt32(this.offset);
        this.offset += 4;
        return value;
      }
      case "uint":
        return this.#uint(path);
      case "hyper": {
        this.#need(8, path);
        const value = this.#view.getBigInt64(this.offset);
        this.offset += 8;
        return value;
      }
      case "uhyper": {
        this.#need(8, path);
        const value = this.#view.getBigUint64(this.offset);
        this.offset += 8;
        return value;
      }
      case "bool": {
        const value = this.#uint(path);
        if (value > 1) throw new XdrError(`boolean ${path || "value"} is ${value}, not 0 or 1`);
        return value === 1;
      }
      case "double": {
        this.#need(8, path);
        const value = this.#view.getFloat64(this.offset);
        this.offset += 8;
        return value;
      }
      case "string": {
        const length = this.#length(type.max, path, "string");
        const raw = this.#raw(length, path);
        try {
          return utf8.decode(raw);
        } catch {
          throw new XdrError(`string ${path || "value"} is not valid UTF-8`);
        }
      }
      case "opaque":
        return this.#raw(this.#length(type.max, path, "opaque"), path);
      case "fixed":
        return this.#raw(type.length, path);
      case "optional": {
        const present = this.#uint(path);
        if (present > 1) {
          throw new XdrError(`optional ${path || "value"} has flag ${present}, not 0 or 1`);
        }
        return present === 1 ? this.read(type.of, path) : null;
      }
      case "array": {
        const length = this.#length(type.max, path, "array");
        // Each element takes at least 4 bytes: refuse a length the input cannot hold before
        // allocating for it.
        if (length * 4 > this.#bytes.length - this.offset) {
          throw new XdrError(`truncated XDR at ${path || "value"}: ${length} elements announced`);
        }
        const values: unknown[] = [];
        for (let index = 0; index < length; index++) {
          values.push(this.read(type.of, `${path}[${index}]`));
        }
        return values;
      }
      case "vector": {
        const values: unknown[] = [];
        for (let index = 0; index < type.length; index++) {
          values.push(this.read(type.of, `${path}[${index}]`));
        }
        return values;
      }
      case "struct": {
        const value: Record<string, unknown> = {};
        for (const [name, field] of type.fields) {
          value[name] = this.read(field, path === "" ? name : `${path}.${name}`);
        }
        return value;
      }
      case "union": {
        this.#need(4, path);
        const discriminant = this.#view.getInt32(this.offset);
        this.offset += 4;
        const arm = type.arms[discriminant];
        if (arm === undefined) {
          throw new XdrError(`union ${path || "value"} has unknown arm ${discriminant}`);
        }
        return { type: discriminant, value: this.read(arm, path) } satisfies XdrUnionValue;
      }
    }
  }
}

class XdrWriter {
  #buffer = new Uint8Array(256);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }

  #reserve(count: number): void {
    const needed = this.#length + count;
    if (needed > this.#maxBytes) {
      throw new XdrError(`XDR output exceeds ${this.#maxBytes} bytes`);
    }
    if (needed <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(Math.min(size, Math.max(needed, this.#maxBytes)));
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
    this.#view = new DataView(grown.buffer);
  }

  #uint(value: number): void {
    this.#reserve(4);
    this.#view.setUint32(this.#length, value);
    this.#length += 4;
  }

  #raw(bytes: Uint8Array): void {
    const pad = padding(bytes.length);
    this.#reserve(bytes.length + pad);
    this.#buffer.set(bytes, this.#length);
    this.#buffer.fill(0, this.#length + bytes.length, this.#length + bytes.length + pad);
    this.#length += bytes.length + pad;
  }

  write(type: XdrType, value: unknown, path: string): void {
    const where = path || "value";
    switch (type.kind) {
      case "void":
        return;
      case "int":
        if (
          !Number.isInteger(value) || (value as number) < INT_MIN || (value as number) > INT_MAX
        ) {
          throw new XdrError(`int ${where} out of range: ${String(value)}`);
        }
        this.#reserve(4);
        this.#view.setInt32(this.#length, value as number);
        this.#length += 4;
        return;
      case "uint":
        if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > UINT_MAX) {
          throw new XdrError(`uint ${where} out of range: ${String(value)}`);
        }
        this.#uint(value as number);
        return;
      case "hyper":
      case "uhyper": {
        const big = toBigInt(value, where);
        this.#reserve(8);
        if (type.kind === "hyper") {
          if (big < -(2n ** 63n) || big >= 2n ** 63n) {
            throw new XdrError(`hyper ${where} out of range: ${big}`);
          }
          this.#view.setBigInt64(this.#length, big);
        } else {
          if (big < 0n || big >= 2n ** 64n) {
            throw new XdrError(`uhyper ${where} out of range: ${big}`);
          }
          this.#view.setBigUint64(this.#length, big);
        }
        this.#length += 8;
        return;
      }
      case "bool":
        if (typeof value !== "boolean") throw new XdrError(`bool ${where} is not a boolean`);
        this.#uint(value ? 1 : 0);
        return;
      case "double":
        if (typeof value !== "number") throw new XdrError(`double ${where} is not a number`);
        this.#reserve(8);
        this.#view.setFloat64(this.#length, value);
        this.#length += 8;
        return;
      case "string": {
        if (typeof value !== "string") throw new XdrError(`string ${where} is not a string`);
        const bytes = utf8Encoder.encode(value);
        if (bytes.length > type.max) {
          throw new XdrError(`string ${where} has ${bytes.length} bytes, more than ${type.max}`);
        }
        this.#uint(bytes.length);
        this.#raw(bytes);
        return;
      }
      case "opaque":
        if (!(value instanceof Uint8Array)) throw new XdrError(`opaque ${where} is not bytes`);
        if (value.length > type.max) {
          throw new XdrError(`opaque ${where} has ${value.length} bytes, more than ${type.max}`);
        }
        this.#uint(value.length);
        this.#raw(value);
        return;
      case "fixed":
        if (!(value instanceof Uint8Array) || value.length !== type.length) {
          throw new XdrError(`fixed opaque ${where} must be ${type.length} bytes`);
        }
        this.#raw(value);
        return;
      case "optional":
        if (value === null || value === undefined) {
          this.#uint(0);
        } else {
          this.#uint(1);
          this.write(type.of, value, path);
        }
        return;
      case "array":
      case "vector": {
        if (!Array.isArray(value)) throw new XdrError(`array ${where} is not an array`);
        if (type.kind === "array") {
          if (value.length > type.max) {
            throw new XdrError(
              `array ${where} has ${value.length} elements, more than ${type.max}`,
            );
          }
          this.#uint(value.length);
        } else if (value.length !== type.length) {
          throw new XdrError(`vector ${where} must have ${type.length} elements`);
        }
        for (let index = 0; index < value.length; index++) {
          this.write(type.of, value[index], `${path}[${index}]`);
        }
        return;
      }
      case "struct": {
        if (typeof value !== "object" || value === null) {
          throw new XdrError(`struct ${where} is not an object`);
        }
        const record = value as Record<string, unknown>;
        for (const [name, field] of type.fields) {
          const child = path === "" ? name : `${path}.${name}`;
          if (!(name in record) && field.kind !== "optional") {
            throw new XdrError(`struct field ${child} is missing`);
          }
          this.write(field, record[name], child);
        }
        return;
      }
      case "union": {
        const union = value as XdrUnionValue;
        const arm = type.arms[union?.type];
        if (arm === undefined) throw new XdrError(`union ${where} has unknown arm ${union?.type}`);
        this.#reserve(4);
        this.#view.setInt32(this.#length, union.type);
        this.#length += 4;
        this.write(arm, union.value, path);
        return;
      }
    }
  }
}

function toBigInt(value: unknown, where: string): bigint {
  if (typeof value === "bigint") return value;
  // A figure past 2^53 (libvirt's test driver reports the clock in ns as CPU time) is still a
  // whole number: it goes out as the double's exact value. Range is checked by the caller.
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  throw new XdrError(`hyper ${where} is not an integer: ${String(value)}`);
}
