/**
 * Turns a typed object back into an XML element by following the declarative domain mapping:
 * typed attributes and children first, in libvirt's order, then what `extra` kept — unknown
 * attributes after the typed ones, leftovers merged into their flattened elements, and placed
 * elements inserted after the sibling they followed.
 *
 * @module
 */

import type { ChildSpec, ElementSpec, ValueSpec } from "../model/domain_schema.ts";
import type { XmlContent, XmlElement, XmlExtra, XmlPlacedElement } from "../model/xml_extra.ts";
import { mergePlaced } from "./placement.ts";
import { getField, type Model } from "./element_decode.ts";
import { childSpec, specIndex } from "./spec_index.ts";
import { writeValue } from "./xml_values.ts";

/**
 * Encodes `model` as the element `name` described by `spec`.
 *
 * @param spec The element's description.
 * @param model The typed object.
 * @param name The element name.
 * @returns The element.
 *
 * @example
 * ```ts
 * import { encodeElement } from "./element_encode.ts";
 * import { ADDRESS } from "../model/domain_schema.ts";
 * const element = encodeElement(ADDRESS, { type: "pci", domain: 0, bus: 0, slot: 5, function: 0 }, "address");
 * console.log(element.attributes); // { type: "pci", domain: "0x0000", bus: "0x00", slot: "0x05", function: "0x0" }
 * ```
 */
export function encodeElement(spec: ElementSpec, model: Model, name: string): XmlElement {
  const extra = model.extra as XmlExtra | undefined;
  const element: XmlElement = { name };
  const attributes: Record<string, string> = {};
  if (spec.text?.value === "sizeKiB" && model[spec.text.field] !== undefined) {
    attributes.unit = "KiB";
  }
  const variant = spec.variants;
  const cases = variant === undefined ? undefined : variant.cases[model[variant.on] as string];
  writeAttributes(spec.attributes, model, attributes);
  if (cases !== undefined) writeAttributes(cases, model, attributes);
  const children: XmlContent[] = [];
  if (spec.text !== undefined) {
    const value = model[spec.text.field] as string | number | undefined;
    if (value !== undefined) children.push(writeValue(spec.text.value, value));
  }
  if (extra?.text !== undefined) children.push(extra.text);
  for (const description of spec.children) encodeChild(description, model, extra, children);
  if (spec.kept !== undefined && extra?.elements !== undefined) {
    const { sequence, rest } = keptInOrder(spec, children, extra.elements);
    finish(element, attributes, sequence, { ...extra, elements: rest });
    return element;
  }
  finish(element, attributes, children, extra);
  return element;
}

/**
 * Puts the kept elements of a kind libvirt orders (`spec.kept`) among the typed children by
 * rank, whatever typed siblings were added since the parse; the other kept elements are
 * returned to be placed after their anchors.
 */
function keptInOrder(
  spec: ElementSpec,
  children: XmlContent[],
  placed: XmlPlacedElement[],
): { sequence: XmlContent[]; rest: XmlPlacedElement[] } {
  const index = specIndex(spec);
  const isRanked = (element: XmlElement) =>
    !index.children.has(element.name) && index.ranks.has(element.name);
  const rank = (element: XmlElement) => index.ranks.get(element.name)!;
  const ranked = placed.map(({ element }) => element).filter(isRanked)
    .map((element, order) => ({ element, order }))
    .sort((a, b) => rank(a.element) - rank(b.element) || a.order - b.order)
    .map(({ element }) => element);
  if (ranked.length === 0) return { sequence: children, rest: placed };
  const sequence: XmlContent[] = [];
  let next = 0;
  for (const child of children) {
    if (typeof child !== "string") {
      while (next < ranked.length && rank(ranked[next]) < rank(child)) {
        sequence.push(ranked[next++]);
      }
    }
    sequence.push(child);
  }
  while (next < ranked.length) sequence.push(ranked[next++]);
  return { sequence, rest: placed.filter(({ element }) => !isRanked(element)) };
}

function writeAttributes(
  values: ValueSpec[],
  model: Model,
  attributes: Record<string, string>,
): void {
  for (const value of values) {
    const field = getField(model, value.field) as string | number | undefined;
    if (field === undefined) continue;
    attributes[value.xml] = writeValue(value.value, field);
    if (value.unitAttribute !== undefined) attributes[value.unitAttribute] = "KiB";
  }
}

/** Adds extras to a produced element: attributes, text and placed elements. */
function finish(
  element: XmlElement,
  attributes: Record<string, string>,
  children: XmlContent[],
  extra: XmlExtra | undefined,
): void {
  if (extra?.attributes !== undefined) {
    for (const name in extra.attributes) {
      // A typed value wins over a stale copy of the same attribute.
      if (attributes[name] === undefined) attributes[name] = extra.attributes[name];
    }
  }
  const content = extra?.elements === undefined ? children : mergePlaced(children, extra.elements);
  for (const _ in attributes) {
    element.attributes = attributes;
    break;
  }
  if (content.length > 0) element.children = content;
}

function encodeChild(
  description: ChildSpec,
  model: Model,
  extra: XmlExtra | undefined,
  children: XmlContent[],
): void {
  const leftovers = extra?.children;
  const field = (description as { field?: string }).field;
  const value = field === undefined ? undefined : model[field];
  switch (description.kind) {
    case "object": {
      if (value === undefined) return;
      const spec = childSpec(description);
      if (description.many === true) {
        for (const item of value as Model[]) {
          children.push(encodeElement(spec, item, description.xml));
        }
        return;
      }
      children.push(encodeElement(spec, value as Model, description.xml));
      return;
    }
    case "flat":
      encodeFlat(description, model, leftovers, children);
      return;
    case "list":
      ((value ?? []) as (string | number)[]).forEach((item, index) => {
        const key = index === 0 ? description.xml : `${description.xml}[${index + 1}]`;
        const written = writeValue(description.value, item);
        const element: XmlElement = description.attribute === undefined
          ? { name: description.xml, children: [written] }
          : { name: description.xml, attributes: { [description.attribute]: written } };
        children.push(withLeftovers(element, leftovers?.[key]));
      });
      return;
    case "flag":
      if (value === true) {
        children.push(withLeftovers({ name: description.xml }, leftovers?.[description.xml]));
      }
      return;
    case "attributes":
      if (value === undefined) return;
      children.push(withLeftovers(
        attributesElement(description.xml, value as Record<string, string>),
        leftovers?.[description.xml],
      ));
      return;
    case "map":
      if (value !== undefined) {
        children.push(
          encodeMap(
            description,
            value as Record<string, Record<string, string>>,
            model,
            leftovers?.[description.xml],
          ),
        );
      }
      return;
    case "elements":
      if (value === undefined) return;
      children.push(withLeftovers(
        (value as XmlElement[]).length === 0
          ? { name: description.xml }
          : { name: description.xml, children: [...(value as XmlElement[])] },
        leftovers?.[description.xml],
      ));
      return;
    case "wrapped": {
      if (value === undefined) return;
      const items = value as Model[];
      const wrapperExtra = leftovers?.[description.xml];
      const spec = childSpec(description);
      const element: XmlElement = { name: description.xml };
      if (items.length > 0) {
        element.children = items.map((item) => encodeElement(spec, item, description.item));
      }
      children.push(withLeftovers(element, wrapperExtra));
      return;
    }
  }
}

function encodeFlat(
  description: ChildSpec & { kind: "flat" },
  model: Model,
  leftovers: Record<string, XmlExtra> | undefined,
  children: XmlContent[],
): void {
  const attributes: Record<string, string> = {};
  let present = false;
  const text = description.text;
  const textValue = text === undefined
    ? undefined
    : getField(model, text.field) as string | number | undefined;
  if (text !== undefined && textValue !== undefined && textValue !== text.absent) {
    present = true;
    if (text.value === "sizeKiB") attributes.unit = "KiB";
  }
  for (const value of description.attributes) {
    const field = getField(model, value.field) as string | number | undefined;
    if (field === undefined || field === value.absent) continue;
    attributes[value.xml] = writeValue(value.value, field);
    present = true;
  }
  if (!present) return;
  const element: XmlElement = { name: description.xml };
  for (const _ in attributes) {
    element.attributes = attributes;
    break;
  }
  // An element kept for its attributes still carries its text, even the "absent" value
  // (`<vcpu placement='static'>0</vcpu>`), so it reads back the same.
  if (textValue !== undefined && text !== undefined) {
    const written = writeValue(text.value, textValue);
    if (written !== "") element.children = [written];
  }
  children.push(withLeftovers(element, leftovers?.[description.xml]));
}

function encodeMap(
  description: ChildSpec & { kind: "map" },
  map: Record<string, Record<string, string>>,
  model: Model,
  extra: XmlExtra | undefined,
): XmlElement {
  const children: XmlContent[] = [];
  const toggles = description.toggles;
  for (const key in map) {
    const element = attributesElement(key, map[key]);
    const states = toggles?.feature === key
      ? model[toggles.field] as Record<string, string> | undefined
      : undefined;
    if (toggles !== undefined && states !== undefined) {
      const items: XmlElement[] = [];
      for (const name in states) {
        items.push({ name, attributes: { [toggles.attribute]: states[name] } });
      }
      if (items.length > 0) element.children = items;
    }
    children.push(withLeftovers(element, extra?.children?.[key]));
  }
  const element: XmlElement = { name: description.xml };
  finish(element, {}, extra?.text === undefined ? children : [extra.text, ...children], extra);
  return element;
}

function attributesElement(name: string, attributes: Record<string, string>): XmlElement {
  for (const _ in attributes) return { name, attributes: { ...attributes } };
  return { name };
}

/** Merges a flattened element's leftovers into the element produced from typed fields. */
function withLeftovers(element: XmlElement, extra: XmlExtra | undefined): XmlElement {
  if (extra === undefined) return element;
  const attributes = { ...element.attributes };
  const children: XmlContent[] = [...(element.children ?? [])];
  if (extra.text !== undefined) children.unshift(extra.text);
  finish(element, attributes, children, extra);
  return element;
}
