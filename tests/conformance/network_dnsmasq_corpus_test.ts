/**
 * libvirt's dnsmasq corpus (`networkxml2confdata`): for every network definition, the dnsmasq
 * configuration evirt generates equals libvirt's `.conf` exactly, and its DHCP hosts file
 * equals libvirt's `.hostsfile` (empty where libvirt writes none). libvirt's test uses
 * `/var/lib/libvirt/dnsmasq` for the hosts files and no pid file; so does this one. Prints the
 * counts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dnsmasqConfiguration } from "../../drivers/network/dnsmasq_config.ts";
import { parseNetworkXml } from "../../src/xml/parse_network.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";

const CONF_DATA = `${corpusDir}/networkxml2confdata`;
const LIBVIRT_STATE_DIR = "/var/lib/libvirt/dnsmasq";

function readOptional(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

testIf(
  "dnsmasq configuration equals libvirt's for every corpus network",
  missing(CONF_DATA),
  () => {
    const names = [...Deno.readDirSync(CONF_DATA)].map((entry) => entry.name)
      .filter((name) => name.endsWith(".xml")).map((name) => name.slice(0, -4)).sort();
    const configsEqual: string[] = [];
    const hostsEqual: string[] = [];
    const problems: string[] = [];
    for (const name of names) {
      const definition = parseNetworkXml(Deno.readTextFileSync(`${CONF_DATA}/${name}.xml`));
      const files = dnsmasqConfiguration(definition, { stateDir: LIBVIRT_STATE_DIR });
      const config = Deno.readTextFileSync(`${CONF_DATA}/${name}.conf`);
      if (files.config === config) {
        configsEqual.push(name);
      } else {
        problems.push(`${name}.conf`);
        console.error(`--- ${name}.conf expected\n${config}--- got\n${files.config}`);
      }
      const hosts = readOptional(`${CONF_DATA}/${name}.hostsfile`) ?? "";
      if (files.hostsFile === hosts) {
        hostsEqual.push(name);
      } else {
        problems.push(`${name}.hostsfile`);
        console.error(`--- ${name}.hostsfile expected\n${hosts}--- got\n${files.hostsFile}`);
      }
      assert.equal(files.hostsFilePath, `${LIBVIRT_STATE_DIR}/${definition.name}.hostsfile`);
    }
    console.log(
      `dnsmasq: ${configsEqual.length} of ${names.length} configurations and ` +
        `${hostsEqual.length} of ${names.length} hosts files equal libvirt's`,
    );
    assert.deepEqual(problems, []);
    assert.ok(names.length >= 13, `only ${names.length} cases`);
  },
);
