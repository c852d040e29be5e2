/**
 * `<secret>` XML written as libvirt 9.0 writes it (virSecretDefFormat): both flags always, the
 * uuid, the description, the usage.
 *
 * @module
 */

import type { SecretDefinition } from "../model/secret.ts";
import { usageChildName } from "./parse_secret.ts";
import { escapeXml, LineBuffer } from "./storage_xml_common.ts";

/**
 * Writes a secret's XML.
 *
 * @example
 * ```ts
 * import { formatSecretXml } from "./format_secret.ts";
 * const xml = formatSecretXml({
 *   uuid: "e78d4b51-a2af-485f-b0f5-afca709a80f4", ephemeral: false, private: true,
 *   usage: { type: "volume", id: "/var/lib/a.img" },
 * });
 * console.log(xml.split("\n")[0]); // "<secret ephemeral='no' private='yes'>"
 * ```
 */
export function formatSecretXml(secret: SecretDefinition): string {
  const out = new LineBuffer();
  const yesNo = (value: boolean) => value ? "yes" : "no";
  out.open(`<secret ephemeral='${yesNo(secret.ephemeral)}' private='${yesNo(secret.private)}'>`);
  out.line(`<uuid>${secret.uuid}</uuid>`);
  if (secret.description !== undefined) {
    out.line(`<description>${escapeXml(secret.description)}</description>`);
  }
  if (secret.usage !== undefined) {
    const child = usageChildName(secret.usage.type);
    out.open(`<usage type='${secret.usage.type}'>`);
    out.line(`<${child}>${escapeXml(secret.usage.id)}</${child}>`);
    out.close("</usage>");
  }
  out.close("</secret>");
  return out.text();
}
