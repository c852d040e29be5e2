/**
 * Plain-JSON carriers for XML content the typed domain model does not cover, so that a
 * parse → format round trip keeps everything a user wrote, in place.
 *
 * Every typed object of the domain model that stands for an XML element may carry an `extra`:
 * the attributes and child elements of that element that no typed field took, and, for child
 * elements the typed object flattened into fields (`<mac address=…/>` → `mac`), what those
 * children carried beyond the flattened value. All of it is plain JSON: strings, arrays and
 * objects, so a trip through `JSON.stringify`/`JSON.parse` deep-equals the original.
 *
 * @module
 */

/**
 * One XML element kept verbatim: its qualified name (`app1:foo`), its attributes in document
 * order (namespace declarations included, as `xmlns:app1`) and its content.
 *
 * Text is kept exactly, except that whitespace-only text between child elements (indentation)
 * is dropped and re-created by the formatter. Comments and processing instructions are not
 * kept (libvirt drops them too).
 */
export interface XmlElement {
  /** Qualified element name, e.g. `qemu:arg` or `disk`. */
  name: string;
  /** Attributes by qualified name, in document order. Absent when the element has none. */
  attributes?: Record<string, string>;
  /** Child elements and text, in document order. Absent when the element is empty. */
  children?: XmlContent[];
}

/** A child of an {@linkcode XmlElement}: an element, or a run of text (entities decoded). */
export type XmlContent = XmlElement | string;

/**
 * An element the typed model does not know, with where it stood among its siblings.
 *
 * `after` names the sibling element it followed in the document, as `name` for the first
 * element of that name and `name[n]` (1-based) for a later one — the same key the formatter
 * uses to find the sibling again. Absent: it was the first element child.
 */
export interface XmlPlacedElement {
  /** The preceding sibling element, `name` or `name[n]`; absent when this came first. */
  after?: string;
  /** The element, verbatim. */
  element: XmlElement;
}

/**
 * What an element had beyond the typed fields of the object that stands for it.
 *
 * @example An interface whose `<mac>` carried an attribute the model does not type
 * ```ts
 * import type { XmlExtra } from "./xml_extra.ts";
 * const extra: XmlExtra = { children: { mac: { attributes: { check: "no" } } } };
 * console.log(extra.children?.mac.attributes?.check); // "no"
 * ```
 */
export interface XmlExtra {
  /** Attributes no typed field took, in document order. */
  attributes?: Record<string, string>;
  /** Child elements no typed field took, each with its place. */
  elements?: XmlPlacedElement[];
  /** Non-whitespace text inside an element whose typed form has no text field. */
  text?: string;
  /**
   * Leftovers of child elements that were flattened into fields of this object, keyed by the
   * child's `name` or `name[n]` (1-based, for the n-th of several children of that name).
   */
  children?: Record<string, XmlExtra>;
}

/** An XML name (element or attribute, prefix included), as XML 1.0 allows it, BMP letters only. */
export const XML_NAME_PATTERN = /^[A-Za-z_:\u00C0-\uFFFD][A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFD]*$/;

/** Characters XML 1.0 forbids anywhere in a document. */
// deno-lint-ignore no-control-regex
export const XML_FORBIDDEN_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
