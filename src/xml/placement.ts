/**
 * Where elements the model does not type go back among their siblings.
 *
 * A placed element remembers the sibling it followed (`after`: `name`, or `name[n]` for the
 * n-th element of that name). The parser records placed elements in the order, and with the
 * anchors, that the formatter reproduces: once typed elements stand in libvirt's order, each
 * placed element follows the sibling it followed in the document, and its anchor is its
 * immediate predecessor there. So parse → format → parse is stable, and both directions are
 * linear in the number of siblings.
 *
 * @module
 */

import type { XmlContent, XmlElement, XmlPlacedElement } from "../model/xml_extra.ts";

/**
 * Merges placed elements into `sequence` (typed elements and text, in output order): those
 * without an anchor first, then each right after the sibling its anchor names, counted in the
 * output as it grows. Placed elements whose anchor never appears (edited away) go last.
 *
 * @param sequence The typed children (and text) in output order.
 * @param placed The placed elements, in their recorded order.
 * @returns A new sequence.
 *
 * @example
 * ```ts
 * import { mergePlaced } from "./placement.ts";
 * const merged = mergePlaced([{ name: "a" }, { name: "b" }], [{ after: "a", element: { name: "x" } }]);
 * console.log(merged.map((item) => typeof item === "string" ? item : item.name)); // ["a", "x", "b"]
 * ```
 */
export function mergePlaced(sequence: XmlContent[], placed: XmlPlacedElement[]): XmlContent[] {
  const waiting = new Map<string, XmlElement[]>();
  const leading: XmlElement[] = [];
  for (const { after, element } of placed) {
    if (after === undefined) leading.push(element);
    else {
      const queue = waiting.get(after);
      if (queue === undefined) waiting.set(after, [element]);
      else queue.push(element);
    }
  }
  const output: XmlContent[] = [];
  const counts: Record<string, number> = Object.create(null);
  const emit = (element: XmlElement) => {
    // An explicit stack rather than recursion: a long chain of placed elements is fine.
    const stack = [element];
    while (stack.length > 0) {
      const next = stack.pop()!;
      output.push(next);
      const key = siblingKey(next.name, counts[next.name] = (counts[next.name] ?? 0) + 1);
      const followers = waiting.get(key);
      if (followers === undefined) continue;
      waiting.delete(key);
      for (let index = followers.length - 1; index >= 0; index--) stack.push(followers[index]);
    }
  };
  let start = 0;
  // Text before the first element stays first.
  while (start < sequence.length && typeof sequence[start] === "string") {
    output.push(sequence[start++]);
  }
  leading.forEach(emit);
  for (let index = start; index < sequence.length; index++) {
    const item = sequence[index];
    if (typeof item === "string") output.push(item);
    else emit(item);
  }
  for (const element of orphans(placed, waiting)) emit(element);
  return output;
}

/** The placed elements still waiting for an anchor that never came, in their recorded order. */
function orphans(placed: XmlPlacedElement[], waiting: Map<string, XmlElement[]>): XmlElement[] {
  const left = new Set<XmlElement>();
  for (const queue of waiting.values()) for (const element of queue) left.add(element);
  return placed.map(({ element }) => element).filter((element) => left.has(element));
}

/**
 * The order the formatter will write an element's children in: typed children in libvirt's
 * order (`typed`, already sorted), each followed by the run of placed elements that followed it
 * in the document; placed elements that came first stay first.
 *
 * @param original The element children in document order.
 * @param typed The typed children, in libvirt's order.
 * @param placed The children kept verbatim.
 */
export function formattedOrder(
  original: readonly XmlElement[],
  typed: readonly XmlElement[],
  placed: ReadonlySet<XmlElement>,
): XmlElement[] {
  const successor = new Map<XmlElement, XmlElement>();
  for (let index = 1; index < original.length; index++) {
    if (placed.has(original[index])) successor.set(original[index - 1], original[index]);
  }
  const order: XmlElement[] = [];
  const chain = (element: XmlElement | undefined) => {
    for (let next = element; next !== undefined; next = successor.get(next)) order.push(next);
  };
  if (original.length > 0 && placed.has(original[0])) chain(original[0]);
  for (const element of typed) chain(element);
  return order;
}

/**
 * The placed elements of `sequence` (those in `placed`), in sequence order, each anchored to
 * its preceding sibling element in `sequence`.
 *
 * @example
 * ```ts
 * import { anchorsIn } from "./placement.ts";
 * const x = { name: "x" };
 * console.log(anchorsIn([{ name: "a" }, x], new Set([x]))); // [{ after: "a", element: { name: "x" } }]
 * ```
 */
export function anchorsIn(
  sequence: XmlElement[],
  placed: ReadonlySet<XmlElement>,
): XmlPlacedElement[] {
  const counts: Record<string, number> = Object.create(null);
  const result: XmlPlacedElement[] = [];
  let previousKey: string | undefined;
  for (const element of sequence) {
    const count = (counts[element.name] = (counts[element.name] ?? 0) + 1);
    if (placed.has(element)) {
      result.push(previousKey === undefined ? { element } : { after: previousKey, element });
    }
    previousKey = siblingKey(element.name, count);
  }
  return result;
}

/**
 * The key of the `count`-th sibling element named `name`: `name`, `name[2]`, …
 *
 * @example
 * ```ts
 * import { siblingKey } from "./placement.ts";
 * console.log(siblingKey("disk", 2)); // "disk[2]"
 * ```
 */
export function siblingKey(name: string, count: number): string {
  return count === 1 ? name : `${name}[${count}]`;
}
