/**
 * A small XPath 1.0 subset over evirt's XML tree, for `dumpxml --xpath`: location paths
 * (absolute `/a/b`, relative, `//` descendants), name tests (`name`, `*`), `@name` and `@*`
 * attributes, `text()`, `node()`, `.` and `..`, predicates (`[n]`, `[last()]`, `[@a]`,
 * `[@a='v']`, `[name='v']`, `[text()='v']`, `!=` too) and unions `|`, answered in document
 * order. Anything else (functions such as `count()`, arithmetic, axes by name) is refused as
 * libvirt refuses an expression that yields no node set: code 1 `Incorrect xpath 'E'`.
 *
 * No npm XPath package is used: the well-kept ones evaluate over a DOM, which evirt does not
 * build; this subset covers what `--xpath` is used for and is bounded (expression length, steps).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { XmlElement } from "../model/xml_extra.ts";

/** Longest expression accepted, in characters. */
export const XPATH_MAX_CHARS = 1024;

/** A node of the result: an element, an attribute of one, or a text run of one. */
export type XPathNode =
  | { kind: "element"; element: XmlElement; order: number }
  | { kind: "attribute"; name: string; value: string; order: number }
  | { kind: "text"; text: string; order: number };

interface Indexed {
  element: XmlElement;
  parent: Indexed | undefined;
  order: number;
  children: Indexed[];
  texts: { text: string; order: number }[];
  attributes: { name: string; value: string; order: number }[];
}

type Test = { kind: "name"; name: string } | { kind: "text" } | { kind: "node" };
type Predicate =
  | { kind: "position"; value: number | "last" }
  | { kind: "exists"; path: Step[] }
  | { kind: "compare"; path: Step[]; equal: boolean; value: string };
interface Step {
  axis: "child" | "descendant-or-self" | "attribute" | "self" | "parent";
  test: Test;
  predicates: Predicate[];
}

function incorrect(expression: string): VirtError {
  return new VirtError(ErrorCode.INTERNAL_ERROR, `Incorrect xpath '${expression}'`, {
    where: "xpath",
  });
}

/**
 * Evaluates `expression` against the document whose root element is `root`.
 *
 * @throws {VirtError} Code 1 `Incorrect xpath 'E'` for what the subset cannot evaluate.
 *
 * @example
 * ```ts
 * import { evaluateXPath } from "./xpath_subset.ts";
 * const root = { name: "domain", children: [{ name: "name", children: ["web"] }] };
 * console.log(evaluateXPath(root, "/domain/name/text()").map((node) => node.kind)); // ["text"]
 * ```
 */
export function evaluateXPath(root: XmlElement, expression: string): XPathNode[] {
  if (expression.length > XPATH_MAX_CHARS || expression.trim() === "") {
    throw incorrect(expression);
  }
  const document = index(root);
  const results = new Map<number, XPathNode>();
  for (const part of splitTopLevel(expression, "|")) {
    const { absolute, steps } = parsePath(part.trim(), expression);
    let current: XPathNode[] = [absolute ? documentNode(document) : elementNode(document)];
    if (absolute && steps.length === 0) current = [elementNode(document)];
    for (const step of steps) current = applyStep(current, step, document, expression);
    for (const node of current) if (node.order >= 0) results.set(node.order, node);
  }
  return [...results.values()].sort((a, b) => a.order - b.order);
}

const byElement = new WeakMap<XmlElement, Indexed>();

function index(root: XmlElement): Indexed {
  let order = 0;
  const visit = (element: XmlElement, parent: Indexed | undefined): Indexed => {
    const node: Indexed = {
      element,
      parent,
      order: order++,
      children: [],
      texts: [],
      attributes: [],
    };
    byElement.set(element, node);
    for (const [name, value] of Object.entries(element.attributes ?? {})) {
      node.attributes.push({ name, value, order: order++ });
    }
    for (const child of element.children ?? []) {
      if (typeof child === "string") node.texts.push({ text: child, order: order++ });
      else node.children.push(visit(child, node));
    }
    return node;
  };
  return visit(root, undefined);
}

/** The document node: its only child is the root element (order -1: never a result). */
function documentNode(root: Indexed): XPathNode {
  return { kind: "element", element: { name: "#document", children: [root.element] }, order: -1 };
}

function elementNode(node: Indexed): XPathNode {
  return { kind: "element", element: node.element, order: node.order };
}

function childrenOf(node: XPathNode, root: Indexed): Indexed[] {
  if (node.kind !== "element") return [];
  if (node.order === -1) return [root];
  return byElement.get(node.element)?.children ?? [];
}

function applyStep(
  nodes: XPathNode[],
  step: Step,
  root: Indexed,
  expression: string,
): XPathNode[] {
  const out = new Map<number, XPathNode>();
  for (const node of nodes) {
    let candidates: XPathNode[] = [];
    if (step.axis === "self") candidates = [node];
    else if (step.axis === "parent") {
      const parent = node.kind === "element" ? byElement.get(node.element)?.parent : undefined;
      candidates = parent === undefined ? [] : [elementNode(parent)];
    } else if (step.axis === "attribute") {
      const own = node.kind === "element" ? byElement.get(node.element) : undefined;
      candidates = (own?.attributes ?? [])
        .filter((attribute) =>
          step.test.kind === "node" ||
          (step.test.kind === "name" &&
            (step.test.name === "*" || step.test.name === attribute.name))
        )
        .map((attribute) => ({ kind: "attribute" as const, ...attribute }));
    } else if (step.axis === "descendant-or-self") {
      candidates = selfAndDescendants(node, root);
    } else {
      candidates = childNodes(node, step.test, root);
    }
    if (step.axis === "self" && step.test.kind === "name" && step.test.name !== "*") {
      candidates = candidates.filter((each) =>
        each.kind === "element" && each.element.name === (step.test as { name: string }).name
      );
    }
    const kept = step.predicates.reduce(
      (list, predicate) => list.filter((each, at) => holds(each, at, list.length, predicate, root)),
      candidates,
    );
    for (const each of kept) out.set(each.order, each);
  }
  if (out.size > 1_000_000) throw incorrect(expression);
  return [...out.values()].sort((a, b) => a.order - b.order);
}

function selfAndDescendants(node: XPathNode, root: Indexed): XPathNode[] {
  const out: XPathNode[] = [node];
  const walk = (each: Indexed) => {
    out.push(elementNode(each));
    each.children.forEach(walk);
  };
  childrenOf(node, root).forEach(walk);
  return out;
}

function childNodes(node: XPathNode, test: Test, root: Indexed): XPathNode[] {
  const elements = childrenOf(node, root);
  const own = node.kind === "element" && node.order !== -1
    ? byElement.get(node.element)
    : undefined;
  const texts = (own?.texts ?? []).map((text) => ({ kind: "text" as const, ...text }));
  if (test.kind === "text") return texts;
  const matching = elements
    .filter((child) =>
      test.kind === "node" || test.name === "*" || test.name === child.element.name
    )
    .map(elementNode);
  return test.kind === "node"
    ? [...matching, ...texts].sort((a, b) => a.order - b.order)
    : matching;
}

function stringValue(node: XPathNode): string {
  if (node.kind === "attribute") return node.value;
  if (node.kind === "text") return node.text;
  const parts: string[] = [];
  const walk = (element: XmlElement) => {
    for (const child of element.children ?? []) {
      if (typeof child === "string") parts.push(child);
      else walk(child);
    }
  };
  walk(node.element);
  return parts.join("");
}

function holds(
  node: XPathNode,
  at: number,
  size: number,
  predicate: Predicate,
  root: Indexed,
): boolean {
  if (predicate.kind === "position") {
    return predicate.value === "last" ? at === size - 1 : at === predicate.value - 1;
  }
  let found = [node];
  for (const step of predicate.path) found = applyStep(found, step, root, "");
  if (predicate.kind === "exists") return found.length > 0;
  const matches = found.some((each) => stringValue(each) === predicate.value);
  return predicate.equal ? matches : found.some((each) => stringValue(each) !== predicate.value);
}

/** Splits at `separator` outside brackets and quotes. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = "";
  let start = 0;
  for (let at = 0; at < text.length; at++) {
    const char = text[at];
    if (quote !== "") {
      if (char === quote) quote = "";
    } else if (char === "'" || char === '"') quote = char;
    else if (char === "[") depth++;
    else if (char === "]") depth--;
    else if (depth === 0 && text.startsWith(separator, at)) {
      parts.push(text.slice(start, at));
      start = at + separator.length;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const NAME = /^[A-Za-z_][\w.:-]*$/;

function parsePath(text: string, expression: string): { absolute: boolean; steps: Step[] } {
  if (text === "") throw incorrect(expression);
  const absolute = text.startsWith("/");
  const steps: Step[] = [];
  let rest = text;
  let descendant = false;
  if (rest.startsWith("//")) {
    descendant = true;
    rest = rest.slice(2);
  } else if (rest.startsWith("/")) rest = rest.slice(1);
  if (rest === "" && absolute && !descendant) return { absolute, steps };
  const words = splitTopLevel(rest, "/");
  for (let index = 0; index < words.length; index++) {
    const word = words[index];
    if (word === "") {
      // `a//b`: the empty word between two slashes.
      if (descendant || index === words.length - 1) throw incorrect(expression);
      descendant = true;
      continue;
    }
    if (descendant) {
      steps.push({ axis: "descendant-or-self", test: { kind: "node" }, predicates: [] });
      descendant = false;
    }
    steps.push(parseStep(word, expression));
  }
  return { absolute, steps };
}

function parseStep(word: string, expression: string): Step {
  const bracket = word.indexOf("[");
  const head = (bracket === -1 ? word : word.slice(0, bracket)).trim();
  const predicates = bracket === -1 ? [] : parsePredicates(word.slice(bracket), expression);
  if (head === ".") return { axis: "self", test: { kind: "node" }, predicates };
  if (head === "..") return { axis: "parent", test: { kind: "node" }, predicates };
  if (head === "text()") return { axis: "child", test: { kind: "text" }, predicates };
  if (head === "node()") return { axis: "child", test: { kind: "node" }, predicates };
  if (head === "*") return { axis: "child", test: { kind: "name", name: "*" }, predicates };
  if (head.startsWith("@")) {
    const name = head.slice(1);
    if (name === "*" || NAME.test(name)) {
      return { axis: "attribute", test: { kind: "name", name }, predicates };
    }
    throw incorrect(expression);
  }
  if (NAME.test(head)) return { axis: "child", test: { kind: "name", name: head }, predicates };
  throw incorrect(expression);
}

function parsePredicates(text: string, expression: string): Predicate[] {
  const predicates: Predicate[] = [];
  let rest = text;
  while (rest.length > 0) {
    if (!rest.startsWith("[")) throw incorrect(expression);
    let depth = 0;
    let quote = "";
    let end = -1;
    for (let at = 0; at < rest.length; at++) {
      const char = rest[at];
      if (quote !== "") {
        if (char === quote) quote = "";
      } else if (char === "'" || char === '"') quote = char;
      else if (char === "[") depth++;
      else if (char === "]" && --depth === 0) {
        end = at;
        break;
      }
    }
    if (end === -1) throw incorrect(expression);
    predicates.push(parsePredicate(rest.slice(1, end).trim(), expression));
    rest = rest.slice(end + 1);
  }
  return predicates;
}

function parsePredicate(text: string, expression: string): Predicate {
  if (/^[1-9][0-9]*$/.test(text)) return { kind: "position", value: Number(text) };
  if (text === "last()") return { kind: "position", value: "last" };
  const compare = /^(.+?)\s*(!=|=)\s*(?:'([^']*)'|"([^"]*)")$/.exec(text);
  if (compare !== null) {
    return {
      kind: "compare",
      path: parsePath(compare[1].trim(), expression).steps,
      equal: compare[2] === "=",
      value: compare[3] ?? compare[4] ?? "",
    };
  }
  if (text.startsWith("/")) throw incorrect(expression);
  return { kind: "exists", path: parsePath(text, expression).steps };
}

/**
 * A result node as libxml2 dumps it for virsh: an element as indented XML with double-quoted
 * attributes, an attribute as ` name="value"`, a text node as its text.
 *
 * @example
 * ```ts
 * import { formatXPathNode } from "./xpath_subset.ts";
 * console.log(formatXPathNode({ kind: "attribute", name: "dev", value: "vda", order: 3 })); // ' dev="vda"'
 * ```
 */
export function formatXPathNode(node: XPathNode, indent = ""): string {
  if (node.kind === "attribute") return ` ${node.name}="${escapeAttribute(node.value)}"`;
  if (node.kind === "text") return escapeText(node.text);
  return formatElement(node.element, indent);
}

function formatElement(element: XmlElement, indent: string): string {
  const attributes = Object.entries(element.attributes ?? {})
    .map(([name, value]) => ` ${name}="${escapeAttribute(value)}"`).join("");
  const children = element.children ?? [];
  if (children.length === 0) return `${indent}<${element.name}${attributes}/>`;
  if (children.every((child) => typeof child === "string")) {
    return `${indent}<${element.name}${attributes}>${
      escapeText((children as string[]).join(""))
    }</${element.name}>`;
  }
  const inner = children.map((child) =>
    typeof child === "string"
      ? indent + "  " + escapeText(child)
      : formatElement(child, indent + "  ")
  );
  return `${indent}<${element.name}${attributes}>\n${
    inner.join("\n")
  }\n${indent}</${element.name}>`;
}

function escapeText(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function escapeAttribute(text: string): string {
  return escapeText(text).replaceAll('"', "&quot;");
}

/**
 * virsh's `--wrap`: the results as children of `<nodes>`, attributes as its attributes.
 *
 * @example
 * ```ts
 * import { wrapXPathNodes } from "./xpath_subset.ts";
 * console.log(wrapXPathNodes([{ kind: "attribute", name: "dev", value: "vda", order: 3 }])); // '<nodes dev="vda"/>'
 * ```
 */
export function wrapXPathNodes(nodes: readonly XPathNode[]): string {
  const attributes: Record<string, string> = {};
  const children: (XmlElement | string)[] = [];
  for (const node of nodes) {
    if (node.kind === "attribute") attributes[node.name] = node.value;
    else if (node.kind === "text") children.push(node.text);
    else children.push(node.element);
  }
  return formatElement({
    name: "nodes",
    ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    ...(children.length > 0 ? { children } : {}),
  }, "");
}
