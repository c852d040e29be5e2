/**
 * Reading and writing the parts of a domain definition the typed model keeps as `extra`
 * (elements it does not type: an interface's `<script>`, `<ip>`, `<vlan>`, `<bandwidth>`, the
 * domain's `<bootloader>`, `<features><xen>` children, the `xen:` namespace …), so the Xen
 * conversions read and write them without a second XML parser.
 *
 * @module
 */

import type { WithExtra, XmlElement, XmlExtra } from "../../src/model/domain.ts";

/** The extra elements of `owner` named `name` (any namespace prefix when `name` has none). */
export function extraElements(owner: WithExtra | undefined, name: string): XmlElement[] {
  return (owner?.extra?.elements ?? []).map((placed) => placed.element).filter((element) =>
    element.name === name
  );
}

/** The first extra element of `owner` named `name`. */
export function extraElement(owner: WithExtra | undefined, name: string): XmlElement | undefined {
  return extraElements(owner, name)[0];
}

/** The extra kept for a typed child element (`<features>` → its `<xen>` …). */
export function extraChild(extra: XmlExtra | undefined, ...path: string[]): XmlExtra | undefined {
  let here = extra;
  for (const name of path) here = here?.children?.[name];
  return here;
}

/** Appends an element to `owner`'s extra, placed after the typed sibling `after`. */
export function addExtraElement(owner: WithExtra, element: XmlElement, after?: string): void {
  owner.extra ??= {};
  owner.extra.elements ??= [];
  owner.extra.elements.push(after === undefined ? { element } : { after, element });
}

/** The text inside an element. */
export function elementText(element: XmlElement): string {
  return (element.children ?? []).filter((child) => typeof child === "string").join("");
}

/** The child elements of an element named `name`. */
export function childElements(element: XmlElement, name: string): XmlElement[] {
  return (element.children ?? []).filter((child): child is XmlElement =>
    typeof child !== "string" && child.name === name
  );
}

/** A new element. */
export function xmlElement(
  name: string,
  attributes?: Record<string, string>,
  children?: (XmlElement | string)[],
): XmlElement {
  return {
    name,
    ...(attributes === undefined ? {} : { attributes }),
    ...(children === undefined ? {} : { children }),
  };
}
