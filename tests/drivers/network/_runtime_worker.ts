/**
 * Runs one {@linkcode NetworkRuntime} step in the network namespace it is started in (by
 * `ip netns exec`): `start|stop|check STATE_DIR XML_FILE [STATE_JSON]`. Prints the result as
 * JSON: `{ ok: value }` or `{ error: { code, message } }`.
 */

import { NetworkRuntime } from "../../../drivers/network/network_runtime.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { completeNetworkDefinition } from "../../../src/model/network_defaults.ts";
import { parseNetworkXml } from "../../../src/xml/parse_network.ts";

const [operation, stateDir, xmlFile, stateJson] = Deno.args;
const definition = completeNetworkDefinition(parseNetworkXml(await Deno.readTextFile(xmlFile)), {
  otherNetworks: [],
  hostLinkExists: () => false,
});
const runtime = new NetworkRuntime(stateDir);
const state = stateJson === undefined ? {} : JSON.parse(stateJson);
try {
  const ok = operation === "start"
    ? await runtime.start(definition)
    : operation === "stop"
    ? await runtime.stop(definition, state)
    : runtime.check(definition, state);
  console.log(JSON.stringify({ ok: ok ?? null }));
} catch (error) {
  if (!isVirtError(error)) throw error;
  console.log(JSON.stringify({ error: { code: error.code, message: error.message } }));
}
