/**
 * What the interface verbs share (`detach-interface`, `domif-setlink`, `domif-getlink`): the
 * `<interface>` elements of the domain's XML (live, or inactive), read as virsh reads them
 * before it calls the device API, and their MAC address and target.
 *
 * @module
 */

import type { XmlElement } from "../model/xml_extra.ts";
import { childOf, domainDevices } from "./device_scope.ts";
import type { VerbContext } from "./verb.ts";

/** The `<interface>` elements of the domain's XML (the inactive XML with `inactive`). */
export function domainInterfaces(
  context: VerbContext,
  reference: string,
  inactive: boolean,
): Promise<XmlElement[]> {
  return domainDevices(context, reference, inactive, "interface");
}

/** An interface element's MAC address (`<mac address>`), if any. */
export function interfaceMac(element: XmlElement): string | undefined {
  return childOf(element, "mac")?.attributes?.address;
}

/** An interface element's host-side device name (`<target dev>`), if any. */
export function interfaceTarget(element: XmlElement): string | undefined {
  return childOf(element, "target")?.attributes?.dev;
}

/** An interface element's link state (`<link state>`), if any. */
export function interfaceLink(element: XmlElement): string | undefined {
  return childOf(element, "link")?.attributes?.state;
}

/**
 * The element with its `<link state>` set to `state` (added after its last child when it has
 * none), as virsh's `domif-setlink` edits it.
 */
export function withLinkState(element: XmlElement, state: string): XmlElement {
  const copy = structuredClone(element);
  const link = childOf(copy, "link");
  if (link !== undefined) {
    link.attributes = { ...link.attributes, state };
  } else {
    copy.children = [...(copy.children ?? []), { name: "link", attributes: { state } }];
  }
  return copy;
}

/** Whether two MAC addresses are the same (virsh compares them without regard to case). */
export function sameMac(left: string | undefined, right: string): boolean {
  return left !== undefined && left.toLowerCase() === right.toLowerCase();
}

/** Whether `text` reads as a MAC address (six pairs of hex digits). */
export function looksLikeMac(text: string): boolean {
  return /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text);
}
