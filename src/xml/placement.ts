/**
 * Where elements the model does not type go back among their siblings.
 *
 * A placed element remembers the sibling it followed (`after`: `name`, or `name[n]` for the
 * n-th element of that name). The formatter inserts placed elements, in order, right after
 * that sibling; the parser records them in the order and with the anchors the formatter will
 * reproduce, so that parse → format → parse is stable even when the formatter reorders typed
 * elements into libvirt's order.
 *
 * @module
 */

import type { XmlElement, XmlPlacedElement } from "../model/xml_extra.ts";

/**
 * Inserts `placed` into `sequence` (mutated): each right after its anchor, or first when it
 * has none, or last when its anchor is gone (edited away). Strings (text) are not siblings.
 *
 * @example
 * ```ts
 * import { insertPlaced } from "./placement.ts";
 * const sequence = [{ name: "a" }, { name: "b" }];
 * insertPlaced(sequence, [{ after: "a", element: { name: "x" } }]);
 * console.log(sequence.map((element) => element.name)); // ["a", "x", "b"]
 * ```
 */
export function insertPlaced(sequence: (XmlElement | string)[], placed: XmlPlacedElement[]): void {
  let firstIndex = 0;
  for (const { after, element } of placed) {
    if (after === undefined) {
      sequence.splice(firstIndex++, 0, element);
      continue;
    }
    const position = findSibling(sequence, after);
    sequence.splice(position === -1 ? sequence.length : position + 1, 0, element);
  }
}

/**
 * The placed elements of `sequence` (those in `placed`), in sequence order, each anchored to
 * its preceding sibling element in `sequence`.
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

/** The key of the `count`-th sibling element named `name`: `name`, `name[2]`, … */
export function siblingKey(name: string, count: number): string {
  return count === 1 ? name : `${name}[${count}]`;
}

function findSibling(sequence: (XmlElement | string)[], key: string): number {
  const bracket = key.indexOf("[");
  const name = bracket === -1 ? key : key.slice(0, bracket);
  let wanted = bracket === -1 ? 1 : Number(key.slice(bracket + 1, -1));
  for (let index = 0; index < sequence.length; index++) {
    const item = sequence[index];
    if (typeof item !== "string" && item.name === name && --wanted === 0) return index;
  }
  return -1;
}
