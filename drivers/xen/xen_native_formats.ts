/**
 * The Xen driver's native formats: `xen-xl` (`xl.cfg`) and `xen-xm` (`xm` configuration),
 * both directions, for `actors/native_formats.ts`.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { xlToDefinition } from "./xl_parse.ts";
import { definitionToXl } from "./xl_format.ts";
import { xmToDefinition } from "./xm_parse.ts";
import { definitionToXm } from "./xm_format.ts";

/** A format's two directions. */
export interface XenNativeFormat {
  /** Native text → definition. */
  fromNative(text: string): DomainDefinition;
  /** Definition → native text; `host` names the bridge of a virtual network (else code 43). */
  toNative(definition: DomainDefinition, host?: { networkBridge(name: string): string }): string;
}

/** `xen-xl` and `xen-xm` by libvirt's format names. */
export const XEN_NATIVE_FORMATS: ReadonlyArray<readonly [string, XenNativeFormat]> = [
  ["xen-xl", {
    fromNative: xlToDefinition,
    toNative: (definition, host) =>
      definitionToXl(definition, host && ((name) => host.networkBridge(name))),
  }],
  ["xen-xm", {
    fromNative: xmToDefinition,
    toNative: (definition, host) =>
      definitionToXm(definition, host && ((name) => host.networkBridge(name))),
  }],
];
