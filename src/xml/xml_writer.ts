/**
 * Writes an {@linkcode XmlElement} tree as text the way libvirt does: two-space indentation,
 * attribute values in single quotes, no XML declaration, a final newline.
 *
 * An element holding only text is written on one line; an element mixing text and elements
 * is written without added whitespace, so its text survives exactly. Characters that XML
 * would normalise away (a tab or newline in an attribute, a carriage return anywhere) are
 * written as character references.
 *
 * @module
 */

import type { XmlElement } from "../model/xml_extra.ts";

const TEXT_SPECIALS = /[&<>\r]/;
const ATTRIBUTE_SPECIALS = /[&<>'"\t\n\r]/;
const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "'": "&apos;",
  '"': "&quot;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/**
 * Writes `root` and its content.
 *
 * @param root The element.
 * @returns The text, ending with a newline.
 *
 * @example
 * ```ts
 * import { writeXml } from "./xml_writer.ts";
 * console.log(writeXml({ name: "a", attributes: { b: "it's" }, children: [{ name: "c", children: ["x < y"] }] }));
 * // <a b='it&apos;s'>
 * //   <c>x &lt; y</c>
 * // </a>
 * ```
 */
export function writeXml(root: XmlElement): string {
  const out = { text: "" };
  writeElement(root, "", out);
  return out.text;
}

function writeElement(element: XmlElement, indent: string, out: { text: string }): void {
  const text = indent + "<" + element.name + writeAttributes(element);
  const children = element.children;
  if (children === undefined || children.length === 0) {
    out.text += text + "/>\n";
    return;
  }
  let hasText = false;
  let hasElement = false;
  for (const child of children) {
    if (typeof child === "string") hasText = true;
    else hasElement = true;
  }
  if (!hasElement) {
    out.text += text + ">" + escapeText(children.join("")) + "</" + element.name + ">\n";
    return;
  }
  if (hasText) {
    out.text += text + ">" + writeInline(children) + "</" + element.name + ">\n";
    return;
  }
  out.text += text + ">\n";
  const inner = indent + "  ";
  for (const child of children) writeElement(child as XmlElement, inner, out);
  out.text += indent + "</" + element.name + ">\n";
}

/** Mixed content: written exactly, without indentation. */
function writeInline(children: XmlElement["children"] & object): string {
  let text = "";
  for (const child of children) {
    if (typeof child === "string") {
      text += escapeText(child);
      continue;
    }
    text += "<" + child.name + writeAttributes(child);
    text += child.children === undefined || child.children.length === 0
      ? "/>"
      : ">" + writeInline(child.children) + "</" + child.name + ">";
  }
  return text;
}

function writeAttributes(element: XmlElement): string {
  const attributes = element.attributes;
  if (attributes === undefined) return "";
  let text = "";
  for (const name in attributes) {
    const value = attributes[name];
    text += " " + name + "='" +
      (ATTRIBUTE_SPECIALS.test(value) ? value.replace(/[&<>'"\t\n\r]/g, escape) : value) + "'";
  }
  return text;
}

function escapeText(value: string): string {
  return TEXT_SPECIALS.test(value) ? value.replace(/[&<>\r]/g, escape) : value;
}

function escape(character: string): string {
  return ESCAPES[character];
}
