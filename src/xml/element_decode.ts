/**
 * Turns an XML element into a typed object by following the declarative domain mapping, and
 * keeps whatever the mapping does not name in the object's `extra`, with its position.
 *
 * Rules that keep a round trip exact:
 * - an element the mapping does not know, a second occurrence of a single-valued element, and
 *   a flattened element that yields no value (`<mac/>` without `address`) are kept verbatim
 *   as placed elements (`extra.elements`, anchored after their preceding sibling);
 * - attributes and content of flattened elements beyond their value go to `extra.children`
 *   under the element's key;
 * - repeated elements become arrays that are always present; `absent` values are filled in.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { ChildSpec, ElementSpec, ValueSpec } from "../model/domain_schema.ts";
import type { XmlContent, XmlElement, XmlExtra, XmlPlacedElement } from "../model/xml_extra.ts";
import { anchorsIn, formattedOrder, siblingKey } from "./placement.ts";
import { childSpec, type SpecIndex, specIndex } from "./spec_index.ts";
import { readValue } from "./xml_values.ts";

/** A typed object of the model, as the mapping sees it. */
export type Model = Record<string, unknown>;

/**
 * Decodes `element` as described by `spec`.
 *
 * @param spec The element's description.
 * @param element The element.
 * @param path The element's path, for errors (`/domain/devices/disk[2]`).
 * @returns The typed object (plain JSON).
 * @throws {VirtError} Code 27 when a value is malformed or a required part is missing.
 *
 * @example
 * ```ts
 * import { decodeElement } from "./element_decode.ts";
 * import { DEVICES } from "../model/domain_schema.ts";
 * const devices = decodeElement(DEVICES, { name: "devices", children: [{ name: "emulator", children: ["/usr/bin/qemu"] }] }, "/domain/devices");
 * console.log(devices.emulator); // "/usr/bin/qemu"
 * ```
 */
export function decodeElement(spec: ElementSpec, element: XmlElement, path: string): Model {
  const index = specIndex(spec);
  const model: Model = {};
  const extra: XmlExtra = {};
  decodeAttributes(index, element, path, model, extra);
  let text = "";
  let previousKey: string | undefined;
  const counts: Record<string, number> = Object.create(null);
  const original: XmlElement[] = [];
  const typed: XmlElement[] = [];
  const typedSingles = new Set<ChildSpec>();
  for (const child of element.children ?? []) {
    if (typeof child === "string") {
      text += child;
      continue;
    }
    original.push(child);
    const name = child.name;
    const count = (counts[name] = (counts[name] ?? 0) + 1);
    const key = siblingKey(name, count);
    const description = index.children.get(name);
    const taken = description !== undefined &&
      decodeChild(description, child, typedSingles, model, extra, `${path}/${key}`);
    if (taken) typed.push(child);
    else (extra.elements ??= []).push(placed(previousKey, child));
    previousKey = key;
  }
  if (extra.elements !== undefined && (typed.length > 0 || index.spec.kept !== undefined)) {
    extra.elements = anchorsAsFormatted(index, original, typed, extra.elements);
  }
  if (spec.text !== undefined) {
    if (text !== "") setField(model, spec.text.field, readText(spec.text, text, element, path));
  } else if (text.trim() !== "") {
    extra.text = text;
  }
  completeChildren(spec, element, model, path);
  if (spec.text?.required === true && model[spec.text.field] === undefined) {
    throw missing(`text of <${element.name}>`, path);
  }
  if (hasContent(extra)) model.extra = extra;
  return model;
}

function decodeAttributes(
  index: SpecIndex,
  element: XmlElement,
  path: string,
  model: Model,
  extra: XmlExtra,
): void {
  const attributes = element.attributes;
  const variant = index.spec.variants;
  const choice = variant === undefined || attributes === undefined
    ? undefined
    : index.variants.get(attributes[variant.on]);
  const known = choice ?? index.attributes;
  if (attributes !== undefined) {
    for (const name in attributes) {
      const value = known.get(name);
      if (value !== undefined) {
        const unit = value.unitAttribute === undefined
          ? undefined
          : attributes[value.unitAttribute];
        setField(
          model,
          value.field,
          readValue(
            value.value,
            attributes[name],
            unit,
            `attribute '${name}' of <${element.name}>`,
            path,
          ),
        );
      } else if (!unitIsTaken(index, name, attributes)) {
        (extra.attributes ??= {})[name] = attributes[name];
      }
    }
  }
  for (const value of known.values()) {
    if (value.required === true && attributes?.[value.xml] === undefined) {
      throw missing(`attribute '${value.xml}' in element '${element.name}'`, path);
    }
  }
}

function unitIsTaken(index: SpecIndex, name: string, attributes: Record<string, string>): boolean {
  const owner = index.unitOwners.get(name);
  if (owner === undefined) return false;
  return owner === "#text" || attributes[owner] !== undefined;
}

/**
 * Decodes one child into `model`; false when it must be kept verbatim instead. `typed` holds
 * the single-valued descriptions already taken, so a second occurrence stays verbatim.
 */
function decodeChild(
  description: ChildSpec,
  child: XmlElement,
  typed: Set<ChildSpec>,
  model: Model,
  extra: XmlExtra,
  path: string,
): boolean {
  if (description.kind === "list") return decodeListItem(description, child, model, extra, path);
  if (description.kind === "object" && description.many === true) {
    ((model[description.field] ??= []) as Model[]).push(
      decodeElement(childSpec(description), child, path),
    );
    return true;
  }
  if (typed.has(description)) return false;
  const taken = decodeSingle(description, child, model, extra, path);
  if (taken) typed.add(description);
  return taken;
}

function decodeSingle(
  description: ChildSpec,
  child: XmlElement,
  model: Model,
  extra: XmlExtra,
  path: string,
): boolean {
  switch (description.kind) {
    case "object":
      model[description.field] = decodeElement(childSpec(description), child, path);
      return true;
    case "flat":
      return decodeFlat(description, child, model, extra, path);
    case "flag":
      model[description.field] = true;
      keepLeftovers(extra, child.name, leftovers(child, noAttribute, false));
      return true;
    case "attributes":
      model[description.field] = { ...child.attributes };
      keepLeftovers(extra, child.name, leftovers(child, anyAttribute, false));
      return true;
    case "map":
      decodeMap(description, child, model, extra);
      return true;
    case "elements":
      model[description.field] = (child.children ?? []).filter((item) => typeof item !== "string");
      keepLeftovers(extra, child.name, leftovers(child, noAttribute, false, true));
      return true;
    case "wrapped":
      decodeWrapped(description, child, model, extra, path);
      return true;
    case "list":
      return false;
  }
}

/** A flattened child: its attributes and text feed fields of the parent. */
function decodeFlat(
  description: ChildSpec & { kind: "flat" },
  child: XmlElement,
  model: Model,
  extra: XmlExtra,
  path: string,
): boolean {
  const values: [ValueSpec, string | number][] = [];
  const attributes = child.attributes;
  const textSpec = description.text;
  for (const value of description.attributes) {
    const raw = attributes?.[value.xml];
    if (raw !== undefined) {
      values.push([
        value,
        readValue(value.value, raw, undefined, `attribute '${value.xml}' of <${child.name}>`, path),
      ]);
    } else if (value.required === true) {
      throw missing(`attribute '${value.xml}' in element '${child.name}'`, path);
    }
  }
  if (textSpec !== undefined) {
    const text = textOf(child);
    if (text !== undefined) values.push([textSpec, readText(textSpec, text, child, path)]);
  }
  if (!values.some(([value, read]) => read !== value.absent)) return false;
  for (const [value, read] of values) setField(model, value.field, read);
  const sized = textSpec?.value === "sizeKiB";
  keepLeftovers(
    extra,
    child.name,
    leftovers(
      child,
      (name) =>
        description.attributes.some((value) => value.xml === name) || (sized && name === "unit"),
      textSpec !== undefined,
    ),
  );
  return true;
}

function decodeListItem(
  description: ChildSpec & { kind: "list" },
  child: XmlElement,
  model: Model,
  extra: XmlExtra,
  path: string,
): boolean {
  const attribute = description.attribute;
  const raw = attribute === undefined ? textOf(child) : child.attributes?.[attribute];
  if (raw === undefined) return false;
  const what = attribute === undefined
    ? `<${child.name}>`
    : `attribute '${attribute}' of <${child.name}>`;
  const list = (model[description.field] ??= []) as unknown[];
  list.push(readValue(description.value, raw, undefined, what, path));
  const key = siblingKey(child.name, list.length);
  keepLeftovers(
    extra,
    key,
    leftovers(child, (name) => name === attribute, attribute === undefined),
  );
  return true;
}

/** `<features>`: each child by name → its attributes; their content stays in leftovers. */
function decodeMap(
  description: ChildSpec & { kind: "map" },
  child: XmlElement,
  model: Model,
  extra: XmlExtra,
): void {
  const field = description.field;
  const toggles = description.toggles;
  const map: Record<string, Record<string, string>> = {};
  const mapExtra: XmlExtra = {};
  if (child.attributes !== undefined) mapExtra.attributes = { ...child.attributes };
  let previousKey: string | undefined;
  const counts: Record<string, number> = Object.create(null);
  for (const entry of child.children ?? []) {
    if (typeof entry === "string") {
      if (entry.trim() !== "") mapExtra.text = (mapExtra.text ?? "") + entry;
      continue;
    }
    const count = (counts[entry.name] = (counts[entry.name] ?? 0) + 1);
    const key = siblingKey(entry.name, count);
    if (count === 1) {
      map[entry.name] = { ...entry.attributes };
      const content = toggles?.feature === entry.name
        ? decodeToggles(toggles, entry, model)
        : entry;
      keepLeftovers(mapExtra, entry.name, leftovers(content, anyAttribute, false));
    } else {
      (mapExtra.elements ??= []).push(placed(previousKey, entry));
    }
    previousKey = key;
  }
  model[field] = map;
  keepLeftovers(extra, child.name, hasContent(mapExtra) ? mapExtra : undefined);
}

/**
 * The toggles of a map entry (`<capabilities><mknod state='on'/>`) into the record the map's
 * description names; returns the entry without them (what is left is kept verbatim). A toggle
 * with anything beyond its one attribute, or named twice, stays verbatim.
 */
function decodeToggles(
  toggles: { field: string; attribute: string },
  entry: XmlElement,
  model: Model,
): XmlElement {
  const states: Record<string, string> = {};
  const rest: XmlContent[] = [];
  for (const item of entry.children ?? []) {
    const attributes = typeof item === "string" ? undefined : item.attributes;
    const simple = typeof item !== "string" && attributes !== undefined &&
      (item.children ?? []).every((inner) => typeof inner === "string" && inner.trim() === "") &&
      Object.keys(attributes).length === 1 && attributes[toggles.attribute] !== undefined &&
      !Object.hasOwn(states, item.name);
    if (simple) states[item.name] = attributes[toggles.attribute];
    else rest.push(item);
  }
  if (Object.keys(states).length > 0) model[toggles.field] = states;
  const { children: _toggles, ...bare } = entry;
  return rest.length === 0 ? bare : { ...bare, children: rest };
}

/** A wrapper element whose `item` children are objects of one array (`<firmware>`). */
function decodeWrapped(
  description: ChildSpec & { kind: "wrapped" },
  child: XmlElement,
  model: Model,
  extra: XmlExtra,
  path: string,
): void {
  const spec = childSpec(description);
  const items: Model[] = [];
  const wrapperExtra: XmlExtra = {};
  if (child.attributes !== undefined) wrapperExtra.attributes = { ...child.attributes };
  let previousKey: string | undefined;
  const counts: Record<string, number> = Object.create(null);
  for (const entry of child.children ?? []) {
    if (typeof entry === "string") {
      if (entry.trim() !== "") wrapperExtra.text = (wrapperExtra.text ?? "") + entry;
      continue;
    }
    const count = (counts[entry.name] = (counts[entry.name] ?? 0) + 1);
    const key = siblingKey(entry.name, count);
    if (entry.name === description.item) items.push(decodeElement(spec, entry, `${path}/${key}`));
    else (wrapperExtra.elements ??= []).push(placed(previousKey, entry));
    previousKey = key;
  }
  model[description.field] = items;
  if (hasContent(wrapperExtra)) (extra.children ??= {})[child.name] = wrapperExtra;
}

/**
 * Re-anchors placed elements as they will stand once the formatter has put the typed
 * elements in libvirt's order, so a second parse of the output finds the same anchors.
 */
function anchorsAsFormatted(
  index: SpecIndex,
  original: XmlElement[],
  typed: XmlElement[],
  placedElements: XmlPlacedElement[],
): XmlPlacedElement[] {
  const rank = (element: XmlElement) => index.ranks.get(element.name)!;
  // Kept elements of a kind libvirt orders take their place among the typed ones.
  const ranked = placedElements.map(({ element }) => element).filter((element) =>
    !index.children.has(element.name) && index.ranks.has(element.name)
  );
  const position = new Map(original.map((element, order) => [element, order]));
  const sorted = [...typed, ...ranked]
    .sort((a, b) => rank(a) - rank(b) || position.get(a)! - position.get(b)!);
  const placed = new Set(placedElements.map(({ element }) => element));
  for (const element of ranked) placed.delete(element);
  const following = formattedOrder(original, sorted, placed);
  for (const element of ranked) placed.add(element);
  return anchorsIn(
    typedSinglesFirst(index, following, placed),
    placed,
  );
}

/**
 * A second parse types the first element of a single-valued name, so a kept duplicate that
 * would come before its typed twin moves to just after it.
 */
function typedSinglesFirst(
  index: SpecIndex,
  order: XmlElement[],
  placed: ReadonlySet<XmlElement>,
): XmlElement[] {
  const isSingle = (element: XmlElement) => {
    const description = index.children.get(element.name);
    return description !== undefined && description.kind !== "list" &&
      !(description.kind === "object" && description.many === true);
  };
  const typedNames = new Set(
    order.filter((element) => !placed.has(element) && isSingle(element)).map((element) =>
      element.name
    ),
  );
  const pending = new Map<string, XmlElement[]>();
  const result: XmlElement[] = [];
  for (const element of order) {
    if (placed.has(element) && typedNames.has(element.name)) {
      const queue = pending.get(element.name) ?? [];
      queue.push(element);
      pending.set(element.name, queue);
      continue;
    }
    result.push(element);
    if (!placed.has(element) && typedNames.has(element.name)) {
      typedNames.delete(element.name);
      result.push(...(pending.get(element.name) ?? []));
      pending.delete(element.name);
    }
  }
  return result;
}

/** Fills in arrays, implied objects and `absent` values; refuses missing required parts. */
function completeChildren(
  spec: ElementSpec,
  element: XmlElement,
  model: Model,
  path: string,
): void {
  for (const description of spec.children) {
    switch (description.kind) {
      case "object":
        if (model[description.field] !== undefined) break;
        if (description.many === true) {
          if (description.optional !== true) model[description.field] = [];
        } else if (description.implied === true) {
          model[description.field] = decodeElement(
            childSpec(description),
            { name: description.xml },
            `${path}/${description.xml}`,
          );
        } else if (description.required === true) {
          throw missing(`element <${description.xml}> in <${element.name}>`, path);
        }
        break;
      case "list":
        if (model[description.field] === undefined && description.optional !== true) {
          model[description.field] = [];
        }
        break;
      case "flat": {
        const text = description.text;
        if (text === undefined || getField(model, text.field) !== undefined) break;
        if (text.absent !== undefined) setField(model, text.field, text.absent);
        else if (text.required === true) {
          throw missing(`element <${description.xml}> in <${element.name}>`, path);
        }
        break;
      }
      default:
        break;
    }
  }
}

function readText(
  value: ValueSpec,
  text: string,
  element: XmlElement,
  path: string,
): string | number {
  const unit = value.value === "sizeKiB" ? element.attributes?.unit : undefined;
  return readValue(value.value, text, unit, `<${element.name}>`, path);
}

/** The text of an element without child elements; undefined when it has child elements only. */
function textOf(element: XmlElement): string | undefined {
  const children = element.children;
  if (children === undefined) return "";
  let text: string | undefined;
  for (const child of children) {
    if (typeof child === "string") text = (text ?? "") + child;
  }
  return text ?? (children.length === 0 ? "" : undefined);
}

const noAttribute = (_name: string) => false;
const anyAttribute = (_name: string) => true;

/** What a flattened child holds beyond what its description took. */
function leftovers(
  child: XmlElement,
  attributeTaken: (name: string) => boolean,
  textTaken: boolean,
  elementsTaken = false,
): XmlExtra | undefined {
  let extra: XmlExtra | undefined;
  const attributes = child.attributes;
  if (attributes !== undefined) {
    for (const name in attributes) {
      if (!attributeTaken(name)) ((extra ??= {}).attributes ??= {})[name] = attributes[name];
    }
  }
  let previousKey: string | undefined;
  let counts: Record<string, number> | undefined;
  let text = "";
  for (const item of child.children ?? []) {
    if (typeof item === "string") {
      text += item;
    } else if (!elementsTaken) {
      counts ??= Object.create(null) as Record<string, number>;
      const count = (counts[item.name] = (counts[item.name] ?? 0) + 1);
      ((extra ??= {}).elements ??= []).push(placed(previousKey, item));
      previousKey = siblingKey(item.name, count);
    }
  }
  if (!textTaken && text.trim() !== "") (extra ??= {}).text = text;
  return extra;
}

function keepLeftovers(extra: XmlExtra, key: string, value: XmlExtra | undefined): void {
  if (value !== undefined) (extra.children ??= {})[key] = value;
}

function placed(after: string | undefined, element: XmlElement): XmlPlacedElement {
  return after === undefined ? { element } : { after, element };
}

function hasContent(extra: XmlExtra): boolean {
  return extra.attributes !== undefined || extra.elements !== undefined ||
    extra.text !== undefined || extra.children !== undefined;
}

/** Reads a field; `a.b` reads `b` of sub-object `a`. */
export function getField(model: Model, field: string): unknown {
  const dot = field.indexOf(".");
  if (dot === -1) return model[field];
  const inner = model[field.slice(0, dot)] as Model | undefined;
  return inner?.[field.slice(dot + 1)];
}

function setField(model: Model, field: string, value: unknown): void {
  const dot = field.indexOf(".");
  if (dot === -1) {
    model[field] = value;
    return;
  }
  const inner = (model[field.slice(0, dot)] ??= {}) as Model;
  inner[field.slice(dot + 1)] = value;
}

function missing(what: string, where: string): VirtError {
  return new VirtError(ErrorCode.XML_ERROR, `missing required ${what}`, { where });
}
