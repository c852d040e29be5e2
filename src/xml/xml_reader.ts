/**
 * A small, strict XML reader for libvirt documents: text in, {@linkcode XmlElement} tree out.
 *
 * It accepts well-formed XML 1.0 as libvirt writes and reads it and refuses, with an
 * {@linkcode XmlSyntaxError} (libvirt code 27) naming the line and column, everything else:
 * malformed markup, a document larger than `maxBytes`, nesting deeper than `maxDepth`, more
 * than `maxElements` elements, any
 * `<!DOCTYPE>` (so no entity can ever be defined or expanded), references to entities other
 * than the five predefined ones, and characters XML forbids. Comments and processing
 * instructions are skipped, CDATA becomes text, line ends are normalised to `\n` and attribute
 * values are normalised as XML requires (a literal tab or newline becomes a space).
 *
 * Whitespace-only text between child elements is dropped (it is indentation); text in an
 * element without child elements is kept exactly.
 *
 * @module
 */

import { XML_MAX_BYTES_DEFAULT } from "../config/config.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { XML_FORBIDDEN_CHARACTERS, XML_NAME_PATTERN, type XmlElement } from "../model/xml_extra.ts";

/** Default deepest element nesting; libxml2's own default limit is 256 as well. */
export const XML_MAX_DEPTH_DEFAULT = 256;

/**
 * Default most elements in one document. It bounds the work of everything after reading
 * (decoding, defaults, checks): the largest definition within evirt's device limits has a few
 * thousand elements, libvirt's largest corpus document 441.
 */
export const XML_MAX_ELEMENTS_DEFAULT = 50_000;

/** Limits of {@linkcode readXml}. */
export interface XmlReadOptions {
  /** Largest document accepted, in UTF-8 bytes. Default {@linkcode XML_MAX_BYTES_DEFAULT}. */
  maxBytes?: number;
  /** Deepest element nesting accepted (the root is depth 1). Default {@linkcode XML_MAX_DEPTH_DEFAULT}. */
  maxDepth?: number;
  /** Most elements accepted. Default {@linkcode XML_MAX_ELEMENTS_DEFAULT}. */
  maxElements?: number;
}

/**
 * A document that is not well-formed XML or breaks a limit: libvirt's XML error (code 27).
 *
 * @example
 * ```ts
 * import { readXml, XmlSyntaxError } from "./xml_reader.ts";
 * try {
 *   readXml("<domain><name>x</domain>");
 * } catch (error) {
 *   console.log(error instanceof XmlSyntaxError); // true
 * }
 * ```
 */
export class XmlSyntaxError extends VirtError {
  /**
   * Makes the error; its message is the problem followed by where it is.
   *
   * @param problem What is wrong, in libvirt's lower-case wording.
   * @param where Where: `line L, column C` and, when known, the open element path.
   */
  constructor(problem: string, where: string) {
    super(ErrorCode.XML_ERROR, `${problem} (${where})`, { where });
    this.name = "XmlSyntaxError";
  }
}

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
};

const LT = 60; // <
const GT = 62; // >
const SLASH = 47; // /
const EQUALS = 61; // =
const QUOTE = 34; // "
const APOSTROPHE = 39; // '
const BANG = 33; // !
const QUESTION = 63; // ?

/**
 * Reads a document and returns its root element.
 *
 * @param text The document.
 * @param options Size and depth limits.
 * @returns The root element; see the module notes for what is kept.
 * @throws {XmlSyntaxError} When the document is not well-formed or breaks a limit.
 *
 * @example Reading a small document
 * ```ts
 * import { readXml } from "./xml_reader.ts";
 * const root = readXml("<domain type='qemu'><name>a &amp; b</name></domain>");
 * console.log(root.attributes?.type, root.children?.[0]); // "qemu" { name: "name", children: [ "a & b" ] }
 * ```
 */
export function readXml(text: string, options: XmlReadOptions = {}): XmlElement {
  const maxBytes = options.maxBytes ?? XML_MAX_BYTES_DEFAULT;
  const maxDepth = options.maxDepth ?? XML_MAX_DEPTH_DEFAULT;
  const maxElements = options.maxElements ?? XML_MAX_ELEMENTS_DEFAULT;
  if (!(maxBytes > 0) || !(maxDepth > 0) || !(maxElements > 0)) {
    throw new TypeError(
      `Limits must be positive, received ${maxBytes} bytes, ${maxDepth} levels and ${maxElements} elements`,
    );
  }
  if (utf8LengthExceeds(text, maxBytes)) {
    throw new XmlSyntaxError(`document is larger than ${maxBytes} bytes`, "line 1, column 1");
  }
  const forbidden = XML_FORBIDDEN_CHARACTERS.exec(text);
  if (forbidden !== null) {
    throw new XmlSyntaxError(
      `character U+${forbidden[0].charCodeAt(0).toString(16).padStart(4, "0")} is not allowed`,
      position(text, forbidden.index),
    );
  }
  const normalized = text.indexOf("\r") === -1 ? text : text.replace(/\r\n?/g, "\n");
  return new Reader(normalized, maxDepth, maxElements).document();
}

function utf8LengthExceeds(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true;
  // Each UTF-16 unit encodes to at most 3 UTF-8 bytes; count exactly only near the limit.
  if (text.length * 3 <= maxBytes) return false;
  return new TextEncoder().encode(text).length > maxBytes;
}

function position(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

class Reader {
  private offset = 0;
  private readonly stack: XmlElement[] = [];
  private elementCount = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    private readonly maxElements: number,
  ) {}

  document(): XmlElement {
    const text = this.text;
    if (text.charCodeAt(0) === 0xfeff) this.offset = 1;
    let root: XmlElement | undefined;
    while (true) {
      this.skipWhitespace();
      if (this.offset >= text.length) break;
      if (text.charCodeAt(this.offset) !== LT) {
        this.fail(
          root === undefined
            ? "document does not start with an element"
            : "extra content at the end of the document",
        );
      }
      const next = text.charCodeAt(this.offset + 1);
      if (next === QUESTION) {
        this.skipProcessingInstruction();
      } else if (next === BANG) {
        if (text.startsWith("<!--", this.offset)) this.skipComment();
        else if (text.startsWith("<!DOCTYPE", this.offset)) this.fail("DOCTYPE is not allowed");
        else this.fail("unexpected markup outside the root element");
      } else if (root === undefined) {
        root = this.element();
      } else {
        this.fail("extra content at the end of the document");
      }
    }
    if (root === undefined) this.fail("document is empty");
    return root;
  }

  /** Reads the element starting at `<` and everything inside it, iteratively. */
  private element(): XmlElement {
    const text = this.text;
    const root = this.startTag();
    if (root === undefined) return this.stack.pop()!;
    while (this.stack.length > 0) {
      const parent = this.stack[this.stack.length - 1];
      const lt = text.indexOf("<", this.offset);
      if (lt === -1) {
        this.offset = text.length;
        this.fail(`premature end of data in tag ${parent.name}`);
      }
      if (lt > this.offset) this.addText(parent, this.decode(text.slice(this.offset, lt), false));
      this.offset = lt;
      const next = text.charCodeAt(lt + 1);
      if (next === SLASH) {
        this.endTag(parent);
      } else if (next === BANG) {
        if (text.startsWith("<!--", lt)) this.skipComment();
        else if (text.startsWith("<![CDATA[", lt)) this.cdata(parent);
        else if (text.startsWith("<!DOCTYPE", lt)) this.fail("DOCTYPE is not allowed");
        else this.fail("unexpected markup");
      } else if (next === QUESTION) {
        this.skipProcessingInstruction();
      } else {
        const child = this.startTag();
        (parent.children ??= []).push(child ?? this.stack.pop()!);
      }
    }
    return root;
  }

  /**
   * Reads a start tag. Pushes the element; returns it when it has content still to read,
   * undefined for an empty-element tag (left on the stack for the caller to pop).
   */
  private startTag(): XmlElement | undefined {
    const text = this.text;
    this.offset++; // <
    const name = this.name("element");
    const element: XmlElement = { name };
    if (this.stack.length >= this.maxDepth) {
      this.fail(`element nesting is deeper than ${this.maxDepth} levels`);
    }
    this.elementCount++;
    if (this.elementCount > this.maxElements) {
      this.fail(`document has more than ${this.maxElements} elements`);
    }
    this.stack.push(element);
    while (true) {
      const hadSpace = this.skipWhitespace();
      const code = text.charCodeAt(this.offset);
      if (code === GT) {
        this.offset++;
        return element;
      }
      if (code === SLASH && text.charCodeAt(this.offset + 1) === GT) {
        this.offset += 2;
        return undefined;
      }
      if (this.offset >= text.length) this.fail(`premature end of data in tag ${name}`);
      if (!hadSpace) this.fail(`attributes construct error in tag ${name}`);
      this.attribute(element);
    }
  }

  private attribute(element: XmlElement): void {
    const text = this.text;
    const name = this.name("attribute");
    this.skipWhitespace();
    if (text.charCodeAt(this.offset) !== EQUALS) {
      this.fail(`specification mandates value for attribute ${name}`);
    }
    this.offset++;
    this.skipWhitespace();
    const quote = text.charCodeAt(this.offset);
    if (quote !== QUOTE && quote !== APOSTROPHE) this.fail(`attribute ${name} value is not quoted`);
    const end = text.indexOf(quote === QUOTE ? '"' : "'", this.offset + 1);
    if (end === -1) {
      this.offset = text.length;
      this.fail(`attribute ${name} value is not closed`);
    }
    const raw = text.slice(this.offset + 1, end);
    if (raw.indexOf("<") !== -1) this.fail(`'<' is not allowed in attribute ${name} value`);
    const attributes = (element.attributes ??= {});
    if (Object.hasOwn(attributes, name)) this.fail(`attribute ${name} redefined`);
    attributes[name] = this.decode(raw, true);
    this.offset = end + 1;
  }

  private endTag(open: XmlElement): void {
    const text = this.text;
    const start = this.offset;
    this.offset += 2; // </
    const name = this.name("element");
    this.skipWhitespace();
    if (text.charCodeAt(this.offset) !== GT) this.fail(`expected '>' to end tag ${name}`);
    if (name !== open.name) {
      this.offset = start;
      this.fail(`opening and ending tag mismatch: ${open.name} and ${name}`);
    }
    this.offset++;
    this.finishElement(open);
    this.stack.pop();
  }

  /**
   * Drops indentation: whitespace-only text in an element whose content is elements only.
   * Mixed content (some text is not blank) is kept whole.
   */
  private finishElement(element: XmlElement): void {
    const children = element.children;
    if (children === undefined || children.length < 2) return;
    let hasElement = false;
    let hasBlank = false;
    for (const child of children) {
      if (typeof child !== "string") hasElement = true;
      else if (child.trim() === "") hasBlank = true;
      else return;
    }
    if (!hasElement || !hasBlank) return;
    element.children = children.filter((child) => typeof child !== "string");
  }

  private addText(parent: XmlElement, value: string): void {
    const children = (parent.children ??= []);
    const last = children.length - 1;
    // Adjacent runs (text split by a comment or CDATA) merge into one string.
    if (last >= 0 && typeof children[last] === "string") children[last] += value;
    else children.push(value);
  }

  private cdata(parent: XmlElement): void {
    const end = this.text.indexOf("]]>", this.offset + 9);
    if (end === -1) this.fail("CDATA section is not closed");
    this.addText(parent, this.text.slice(this.offset + 9, end));
    this.offset = end + 3;
  }

  private skipComment(): void {
    const end = this.text.indexOf("-->", this.offset + 4);
    if (end === -1) this.fail("comment is not closed");
    this.offset = end + 3;
  }

  private skipProcessingInstruction(): void {
    const end = this.text.indexOf("?>", this.offset + 2);
    if (end === -1) this.fail("processing instruction is not closed");
    this.offset = end + 2;
  }

  private name(kind: string): string {
    const text = this.text;
    const start = this.offset;
    let end = start;
    while (end < text.length) {
      const code = text.charCodeAt(end);
      // Stop at whitespace and the markup characters that can follow a name.
      if (code <= 32 || code === GT || code === SLASH || code === EQUALS || code === LT) break;
      end++;
    }
    const name = text.slice(start, end);
    if (!XML_NAME_PATTERN.test(name)) {
      this.fail(name === "" ? `${kind} name expected` : `invalid ${kind} name '${name}'`);
    }
    this.offset = end;
    return name;
  }

  /** Skips whitespace; returns whether there was any. */
  private skipWhitespace(): boolean {
    const text = this.text;
    const start = this.offset;
    let code = text.charCodeAt(this.offset);
    while (code === 32 || code === 10 || code === 9 || code === 13) {
      code = text.charCodeAt(++this.offset);
    }
    return this.offset > start;
  }

  /** Decodes references; in an attribute value, also turns literal tabs and newlines into spaces. */
  private decode(raw: string, attribute: boolean): string {
    const value = attribute && /[\t\n]/.test(raw) ? raw.replace(/[\t\n]/g, " ") : raw;
    if (!attribute && value.indexOf("]]>") !== -1) this.fail("']]>' is not allowed in text");
    if (value.indexOf("&") === -1) return value;
    let out = "";
    let from = 0;
    for (let amp = value.indexOf("&"); amp !== -1; amp = value.indexOf("&", from)) {
      const semicolon = value.indexOf(";", amp);
      if (semicolon === -1 || semicolon - amp > 12) {
        this.fail("'&' must start an entity or character reference");
      }
      out += value.slice(from, amp) + this.reference(value.slice(amp + 1, semicolon));
      from = semicolon + 1;
    }
    return out + value.slice(from);
  }

  private reference(body: string): string {
    if (body.charCodeAt(0) === 35) { // #
      const hex = body.charCodeAt(1) === 120; // x
      const digits = body.slice(hex ? 2 : 1);
      const valid = hex ? /^[0-9a-fA-F]{1,6}$/.test(digits) : /^[0-9]{1,7}$/.test(digits);
      const code = valid ? parseInt(digits, hex ? 16 : 10) : -1;
      if (!isXmlChar(code)) this.fail(`invalid character reference &${body};`);
      return String.fromCodePoint(code);
    }
    const entity = Object.hasOwn(PREDEFINED_ENTITIES, body) ? PREDEFINED_ENTITIES[body] : undefined;
    if (entity === undefined) this.fail(`entity '${body}' is not defined`);
    return entity;
  }

  private fail(problem: string): never {
    const path = this.stack.map((element) => element.name).join("/");
    const where = position(this.text, Math.min(this.offset, this.text.length));
    throw new XmlSyntaxError(problem, path === "" ? where : `${where}, in /${path}`);
  }
}

function isXmlChar(code: number): boolean {
  if (code === 0x9 || code === 0xa || code === 0xd) return true;
  if (code >= 0x20 && code <= 0xd7ff) return true;
  if (code >= 0xe000 && code <= 0xfffd) return true;
  return code >= 0x10000 && code <= 0x10ffff;
}
