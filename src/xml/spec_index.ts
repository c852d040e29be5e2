/**
 * Lookup tables over the declarative domain mapping, built once per element description so
 * parsing and formatting do no repeated searching.
 *
 * @module
 */

import type { ChildSpec, ElementSpec, ValueSpec } from "../model/domain_schema.ts";

/** The lookups of one {@linkcode ElementSpec}. */
export interface SpecIndex {
  /** The description itself. */
  spec: ElementSpec;
  /** Attribute descriptions by XML name, without variants. */
  attributes: ReadonlyMap<string, ValueSpec>;
  /** Attribute descriptions by XML name for each variant value (base attributes included). */
  variants: ReadonlyMap<string, ReadonlyMap<string, ValueSpec>>;
  /** Unit attributes and what owns them: `#text` or the sized attribute's XML name. */
  unitOwners: ReadonlyMap<string, string>;
  /** Child descriptions by XML name. */
  children: ReadonlyMap<string, ChildSpec>;
  /**
   * The position of each child in libvirt's order, by XML name: the typed children and those
   * the description keeps verbatim in place (`kept`).
   */
  ranks: ReadonlyMap<string, number>;
}

const indexes = new WeakMap<ElementSpec, SpecIndex>();
const resolved = new WeakMap<ChildSpec, ElementSpec>();

/**
 * The lookups of `spec`, built on first use.
 *
 * @example
 * ```ts
 * import { specIndex } from "./spec_index.ts";
 * import { DOMAIN } from "../model/domain_schema.ts";
 * console.log(specIndex(DOMAIN).children.get("devices")?.kind); // "object"
 * ```
 */
export function specIndex(spec: ElementSpec): SpecIndex {
  let index = indexes.get(spec);
  if (index === undefined) {
    index = buildIndex(spec);
    indexes.set(spec, index);
  }
  return index;
}

/**
 * The element description of an `object` or `wrapped` child, resolved once (the mapping
 * refers to nested descriptions through functions so that recursive ones can be declared).
 */
export function childSpec(child: ChildSpec & { spec: () => ElementSpec }): ElementSpec {
  let spec = resolved.get(child);
  if (spec === undefined) {
    spec = child.spec();
    resolved.set(child, spec);
  }
  return spec;
}

function buildIndex(spec: ElementSpec): SpecIndex {
  const attributes = new Map(spec.attributes.map((value) => [value.xml, value]));
  const variants = new Map<string, Map<string, ValueSpec>>();
  for (const [key, values] of Object.entries(spec.variants?.cases ?? {})) {
    variants.set(
      key,
      new Map([...attributes, ...values.map((value) => [value.xml, value] as const)]),
    );
  }
  const unitOwners = new Map<string, string>();
  if (spec.text?.value === "sizeKiB") unitOwners.set("unit", "#text");
  for (const value of spec.attributes) {
    if (value.unitAttribute !== undefined) unitOwners.set(value.unitAttribute, value.xml);
  }
  const children = new Map<string, ChildSpec>();
  const ranks = new Map<string, number>();
  const order: string[] = [];
  for (const child of spec.children) {
    if (children.has(child.xml)) throw new Error(`Mapping names child <${child.xml}> twice`);
    children.set(child.xml, child);
    order.push(child.xml);
  }
  const keptAfter = new Map<string, string>();
  for (const { xml, after } of spec.kept ?? []) {
    // After `after` and the kept children already placed behind it.
    let position = order.indexOf(keptAfter.get(after) ?? after);
    if (position < 0 || order.includes(xml)) throw new Error(`Mapping keeps <${xml}> badly`);
    order.splice(++position, 0, xml);
    keptAfter.set(after, xml);
  }
  order.forEach((xml, rank) => ranks.set(xml, rank));
  return { spec, attributes, variants, unitOwners, children, ranks };
}
