/**
 * libvirt's network XML corpus (`networkxml2xmlin` → `networkxml2xmlout`): every input with an
 * expected output parses and formats to exactly it; every input without one (libvirt's parse
 * error cases) is refused with a libvirt error code and a location. The inputs of the dnsmasq
 * corpus (`networkxml2confdata`) parse and format to a fixed point. Prints the counts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { isVirtError } from "../../src/model/errors.ts";
import { formatNetworkXml } from "../../src/xml/format_network.ts";
import { parseNetworkXml } from "../../src/xml/parse_network.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";

const NETWORK_IN = `${corpusDir}/networkxml2xmlin`;
const NETWORK_OUT = `${corpusDir}/networkxml2xmlout`;
const CONF_DATA = `${corpusDir}/networkxml2confdata`;
const skipReason = missing(NETWORK_IN, NETWORK_OUT, CONF_DATA);

function xmlFiles(folder: string): string[] {
  return [...Deno.readDirSync(folder)].map((entry) => entry.name).filter((name) =>
    name.endsWith(".xml")
  ).sort();
}

function outputOf(name: string): string | undefined {
  try {
    return Deno.readTextFileSync(`${NETWORK_OUT}/${name}`);
  } catch {
    return undefined;
  }
}

/** libvirt's test formats with the inactive flag; a parsed definition has no live parts. */
function roundTrip(text: string): string {
  return formatNetworkXml(parseNetworkXml(text), { inactive: true });
}

testIf("network XML corpus formats as libvirt's expected output", skipReason, () => {
  const matched: string[] = [];
  const refused: string[] = [];
  const problems: string[] = [];
  for (const name of xmlFiles(NETWORK_IN)) {
    const input = Deno.readTextFileSync(`${NETWORK_IN}/${name}`);
    const expected = outputOf(name);
    let text: string;
    try {
      text = roundTrip(input);
    } catch (error) {
      if (!isVirtError(error)) throw error;
      if (expected === undefined && error.where !== undefined) {
        refused.push(`${name}: ${error.code} ${error.message} at ${error.where}`);
      } else {
        problems.push(`${name}: refused (${error.message}) but libvirt accepts it`);
      }
      continue;
    }
    if (expected === undefined) {
      problems.push(`${name}: accepted but libvirt refuses it`);
    } else if (text === expected) {
      matched.push(name);
    } else {
      problems.push(`${name}: differs`);
      console.error(`--- ${name} expected\n${expected}--- got\n${text}`);
    }
  }
  console.log(
    `networks: ${matched.length} equal libvirt's output, ${refused.length} refused as libvirt ` +
      `refuses them, ${problems.length} differing`,
  );
  for (const line of refused) console.log(`  refused ${line}`);
  assert.deepEqual(problems, []);
  assert.ok(matched.length >= 23, `only ${matched.length} matched`);
  assert.ok(refused.length >= 2, `only ${refused.length} refused`);
});

testIf("dnsmasq corpus network definitions format to a fixed point", skipReason, () => {
  let count = 0;
  for (const name of xmlFiles(CONF_DATA)) {
    const once = roundTrip(Deno.readTextFileSync(`${CONF_DATA}/${name}`));
    assert.equal(roundTrip(once), once, name);
    count++;
  }
  console.log(`dnsmasq corpus: ${count} definitions format to a fixed point`);
  assert.ok(count >= 13, `only ${count} definitions`);
});
