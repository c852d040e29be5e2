/**
 * `domainFromJson`: checks that a value is a {@linkcode DomainDefinition} in its JSON form, as
 * the API accepts it, by walking the same mapping the XML parser and formatter follow
 * (`domain_schema.ts`).
 *
 * @module
 */

import type { DomainDefinition } from "./domain.ts";
import {
  type ChildSpec,
  DOMAIN,
  type ElementSpec,
  type ValueKind,
  type ValueSpec,
} from "./domain_schema.ts";
import { ErrorCode, VirtError } from "./errors.ts";
import { XML_FORBIDDEN_CHARACTERS, XML_NAME_PATTERN } from "./xml_extra.ts";

/** Deepest nesting of verbatim XML accepted inside `extra` and `metadata` (as for XML input). */
export const JSON_XML_MAX_DEPTH = 256;

type Json = Record<string, unknown>;

/**
 * Checks `value` against the JSON form of the domain model and returns it typed. The value is
 * not copied.
 *
 * @param value A parsed JSON value.
 * @returns The same value, as a {@linkcode DomainDefinition}.
 * @throws {VirtError} Code 8 when a field is missing, unknown or of the wrong type; code 27
 *   when verbatim XML it carries (`extra`, `metadata`) has an invalid name or character.
 *   `where` is a JSON pointer (`/devices/disks/0/target/dev`).
 *
 * @example
 * ```ts
 * import { domainFromJson } from "./domain_json.ts";
 * try {
 *   domainFromJson({ type: "qemu", name: "x" });
 * } catch (error) {
 *   console.log((error as Error).message); // "missing required field 'memoryKiB'"
 * }
 * ```
 */
export function domainFromJson(value: unknown): DomainDefinition {
  checkElement(DOMAIN, value, "");
  return value as DomainDefinition;
}

function checkElement(spec: ElementSpec, value: unknown, pointer: string): void {
  const object = asObject(value, pointer);
  const allowed = new Map<string, (item: unknown, at: string) => void>();
  const required = new Set<string>();
  const variantOn = spec.variants?.on;
  const variant = variantOn === undefined
    ? undefined
    : spec.variants!.cases[object[variantOn] as string];
  for (const attribute of [...spec.attributes, ...(variant ?? [])]) {
    addValue(attribute, allowed, required);
  }
  if (spec.text !== undefined) addValue(spec.text, allowed, required);
  for (const child of spec.children) addChild(child, allowed, required);
  allowed.set("extra", checkExtra);
  for (const name of required) {
    if (object[name] === undefined) fail(`missing required field '${name}'`, pointer);
  }
  for (const [name, item] of Object.entries(object)) {
    const check = allowed.get(name);
    if (check === undefined) fail(`unknown field '${name}'`, `${pointer}/${escape(name)}`);
    check(item, `${pointer}/${escape(name)}`);
  }
}

/** Registers a value field; `a.b` fields make `a` an object of such fields. */
function addValue(
  value: ValueSpec,
  allowed: Map<string, (item: unknown, at: string) => void>,
  required: Set<string>,
): void {
  const dot = value.field.indexOf(".");
  if (dot === -1) {
    allowed.set(value.field, (item, at) => checkValue(value.value, item, at));
    if (value.required === true || value.absent !== undefined) required.add(value.field);
    return;
  }
  const group = value.field.slice(0, dot);
  const previous = allowed.get(group) as ((item: unknown, at: string) => void) & {
    fields?: Map<string, ValueKind>;
  };
  const fields = previous?.fields ?? new Map<string, ValueKind>();
  fields.set(value.field.slice(dot + 1), value.value);
  const check = Object.assign((item: unknown, at: string) => {
    const object = asObject(item, at);
    for (const [name, inner] of Object.entries(object)) {
      const kind = fields.get(name);
      if (kind === undefined) fail(`unknown field '${name}'`, `${at}/${escape(name)}`);
      checkValue(kind, inner, `${at}/${escape(name)}`);
    }
  }, { fields });
  allowed.set(group, check);
}

function addChild(
  child: ChildSpec,
  allowed: Map<string, (item: unknown, at: string) => void>,
  required: Set<string>,
): void {
  switch (child.kind) {
    case "object": {
      const check = (item: unknown, at: string) => checkElement(child.spec(), item, at);
      allowed.set(
        child.field,
        child.many === true ? (item, at) => checkArray(item, at, check) : check,
      );
      if (
        (child.many === true && child.optional !== true) || child.required === true ||
        child.implied === true
      ) {
        required.add(child.field);
      }
      return;
    }
    case "flat":
      // The element is optional as a whole: only its text may be demanded (`<os><type>`).
      for (const value of child.attributes) {
        addValue({ ...value, required: value.absent !== undefined }, allowed, required);
      }
      if (child.text !== undefined) {
        addValue(
          { ...child.text, required: child.text.absent !== undefined || child.text.required },
          allowed,
          required,
        );
      }
      return;
    case "list":
      allowed.set(
        child.field,
        (item, at) =>
          checkArray(item, at, (entry, entryAt) => checkValue(child.value, entry, entryAt)),
      );
      if (child.optional !== true) required.add(child.field);
      return;
    case "flag":
      allowed.set(child.field, (item, at) => {
        if (item !== true) fail("expected true", at);
      });
      return;
    case "attributes":
      allowed.set(child.field, checkAttributes);
      return;
    case "map":
      allowed.set(child.field, (item, at) => {
        for (const [name, attributes] of Object.entries(asObject(item, at))) {
          checkName(name, `${at}/${escape(name)}`);
          checkAttributes(attributes, `${at}/${escape(name)}`);
        }
      });
      if (child.toggles !== undefined) {
        allowed.set(child.toggles.field, (item, at) => {
          checkAttributes(item, at);
          for (const name of Object.keys(asObject(item, at))) {
            checkName(name, `${at}/${escape(name)}`);
          }
        });
      }
      return;
    case "elements":
      allowed.set(
        child.field,
        (item, at) => checkArray(item, at, (entry, entryAt) => checkXmlElement(entry, entryAt, 1)),
      );
      return;
    case "wrapped":
      allowed.set(
        child.field,
        (item, at) =>
          checkArray(item, at, (entry, entryAt) => checkElement(child.spec(), entry, entryAt)),
      );
      return;
  }
}

function checkValue(kind: ValueKind, value: unknown, pointer: string): void {
  if (kind === "string") {
    checkString(value, pointer);
    return;
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    fail("expected an integer", pointer);
  }
  if (kind !== "int" && value < 0) fail("expected a non-negative integer", pointer);
}

function checkString(value: unknown, pointer: string): asserts value is string {
  if (typeof value !== "string") fail("expected a string", pointer);
  const forbidden = XML_FORBIDDEN_CHARACTERS.exec(value);
  if (forbidden !== null) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `character U+${
        forbidden[0].charCodeAt(0).toString(16).padStart(4, "0")
      } is not allowed in XML`,
      { where: pointer },
    );
  }
}

function checkArray(
  value: unknown,
  pointer: string,
  check: (item: unknown, at: string) => void,
): void {
  if (!Array.isArray(value)) fail("expected an array", pointer);
  value.forEach((item, index) => check(item, `${pointer}/${index}`));
}

function checkAttributes(value: unknown, pointer: string): void {
  for (const [name, item] of Object.entries(asObject(value, pointer))) {
    checkName(name, `${pointer}/${escape(name)}`);
    checkString(item, `${pointer}/${escape(name)}`);
  }
}

function checkExtra(value: unknown, pointer: string, depth = 1): void {
  if (depth > JSON_XML_MAX_DEPTH) fail(`nesting deeper than ${JSON_XML_MAX_DEPTH} levels`, pointer);
  for (const [name, item] of Object.entries(asObject(value, pointer))) {
    const at = `${pointer}/${escape(name)}`;
    if (name === "attributes") {
      checkAttributes(item, at);
    } else if (name === "text") {
      checkString(item, at);
    } else if (name === "elements") {
      checkArray(item, at, (placed, placedAt) => {
        const { after, element, ...rest } = asObject(placed, placedAt);
        for (const key of Object.keys(rest)) {
          fail(`unknown field '${key}'`, `${placedAt}/${escape(key)}`);
        }
        if (after !== undefined) checkString(after, `${placedAt}/after`);
        checkXmlElement(element, `${placedAt}/element`, depth);
      });
    } else if (name === "children") {
      for (const [key, inner] of Object.entries(asObject(item, at))) {
        checkExtra(inner, `${at}/${escape(key)}`, depth + 1);
      }
    } else {
      fail(`unknown field '${name}'`, `${pointer}/${escape(name)}`);
    }
  }
}

function checkXmlElement(value: unknown, pointer: string, depth: number): void {
  if (depth > JSON_XML_MAX_DEPTH) fail(`nesting deeper than ${JSON_XML_MAX_DEPTH} levels`, pointer);
  const { name, attributes, children, ...rest } = asObject(value, pointer);
  for (const key of Object.keys(rest)) fail(`unknown field '${key}'`, `${pointer}/${escape(key)}`);
  checkString(name, `${pointer}/name`);
  checkName(name, `${pointer}/name`);
  if (attributes !== undefined) checkAttributes(attributes, `${pointer}/attributes`);
  if (children !== undefined) {
    checkArray(children, `${pointer}/children`, (child, at) => {
      if (typeof child === "string") checkString(child, at);
      else checkXmlElement(child, at, depth + 1);
    });
  }
}

function checkName(name: string, pointer: string): void {
  if (!XML_NAME_PATTERN.test(name)) {
    throw new VirtError(ErrorCode.XML_ERROR, `invalid XML name '${name}'`, { where: pointer });
  }
}

function asObject(value: unknown, pointer: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail("expected an object", pointer);
  }
  return value as Json;
}

/** Escapes a key for a JSON pointer (RFC 6901). */
function escape(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

function fail(problem: string, pointer: string): never {
  throw new VirtError(ErrorCode.INVALID_ARG, problem, { where: pointer === "" ? "/" : pointer });
}
