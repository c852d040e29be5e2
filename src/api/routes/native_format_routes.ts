/**
 * Native configuration routes: a hypervisor's own configuration (`xl.cfg`, `.vmx`, …) to
 * domain XML and back (`virsh domxml-from-native` / `domxml-to-native`), through the table
 * of native formats.
 *
 * @module
 */

import {
  domainXmlFromNative,
  domainXmlToNative,
  nativeFormatHost,
} from "../../../actors/native_conversion.ts";
import type { RouteAdder } from "../api_context.ts";
import { readBodyText } from "../request_body.ts";

/** Registers the native format routes. */
export function nativeFormatRoutes(add: RouteAdder): void {
  add("host.domain_xml_from_native", async (request, { env, params }) => {
    const config = await readBodyText(request, env.xmlMaxBytes);
    return new Response(domainXmlFromNative(params.format, config, env.xmlMaxBytes), {
      headers: { "content-type": "application/xml" },
    });
  });
  add("host.domain_xml_to_native", async (request, { env, params }) => {
    const xml = await readBodyText(request, env.xmlMaxBytes);
    const host = nativeFormatHost(env.host.drivers, env.networks);
    return new Response(await domainXmlToNative(params.format, xml, env.xmlMaxBytes, host), {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  });
}
