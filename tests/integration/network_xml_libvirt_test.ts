/**
 * Network XML side by side with the running libvirtd 9.0: each corpus network definition
 * (`networkxml2xmlin`, `networkxml2confdata`) is defined in libvirtd (`virsh net-define`),
 * read back (`net-dumpxml --inactive`) and undefined; evirt parses, completes
 * ({@linkcode completeNetworkDefinition}) and formats the same text and must print the same
 * document, or refuse it with the same message where libvirtd refuses it.
 *
 * Each definition is renamed, given a fresh UUID and fresh bridge names first, so nothing
 * collides with libvirtd's own networks or another run. Where the input has no bridge MAC,
 * evirt is handed libvirtd's generated one; where it has no bridge name, libvirtd's generated
 * `virbrN` stands for evirt's. Defining never creates a bridge; every definition is undefined
 * in `finally`. Refusals that depend on the host's hardware (an SR-IOV device that is not
 * there) are counted apart. Skipped, with the reason printed, when libvirtd does not answer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { isVirtError } from "../../src/model/errors.ts";
import { completeNetworkDefinition } from "../../src/model/network_defaults.ts";
import { formatNetworkXml } from "../../src/xml/format_network.ts";
import { parseNetworkXml } from "../../src/xml/parse_network.ts";
import { runChild } from "../support/child_process.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_URI, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";

const FOLDERS = [`${corpusDir}/networkxml2xmlin`, `${corpusDir}/networkxml2confdata`];
const VIRSH_PROBE_TIMEOUT_MS = 30_000;

/** Refusals that come from the host's hardware, which evirt does not probe at define. */
const HOST_DEPENDENT = /is not an SR-IOV Virtual Function|\/sys\/bus\/pci/;

async function skipReason(): Promise<string | undefined> {
  const absent = missing("virsh", ...FOLDERS);
  if (absent !== undefined) return absent;
  const run = await runChild("virsh", ["-c", LIBVIRTD_URI, "uri"], {}, VIRSH_PROBE_TIMEOUT_MS);
  return run.code === 0 ? undefined : `libvirtd does not answer on ${LIBVIRTD_URI}`;
}

const skip = await skipReason();

/** The corpus text with a fresh name, UUID and bridge names. */
function renamed(text: string, name: string, tag: string): string {
  let count = 0;
  return text
    .replace(/<name>[^<]*<\/name>/, `<name>${name}</name>`)
    .replace(/<uuid>[^<]*<\/uuid>/, `<uuid>${crypto.randomUUID()}</uuid>`)
    .replace(
      /(<bridge\b[^>]*\bname=)(['"])[^'"]*\2/g,
      (_match, head: string, quote: string) => `${head}${quote}${tag}${count++}${quote}`,
    );
}

/** What evirt makes of the text, given libvirtd's generated MAC and bridge name. */
function evirtXml(text: string, theirs: string): string {
  const theirMac = /<mac address='([^']+)'\/>/.exec(theirs)?.[1];
  const theirBridge = /<bridge name='([^']+)'/.exec(theirs)?.[1];
  const parsed = parseNetworkXml(text);
  const done = completeNetworkDefinition(parsed, {
    otherNetworks: [],
    generateMac: () => theirMac ?? "52:54:00:00:00:00",
  });
  let xml = formatNetworkXml(done, { inactive: true });
  const mine = /<bridge name='([^']+)'/.exec(xml)?.[1];
  if (parsed.bridge.name === undefined && mine !== undefined && theirBridge !== undefined) {
    assert.match(mine, /^virbr\d+$/);
    assert.match(theirBridge, /^virbr\d+$/);
    xml = xml.replace(`<bridge name='${mine}'`, `<bridge name='${theirBridge}'`);
  }
  return xml;
}

function evirtRefusal(text: string): string | undefined {
  try {
    completeNetworkDefinition(parseNetworkXml(text), { otherNetworks: [] });
    return undefined;
  } catch (error) {
    if (!isVirtError(error)) throw error;
    return error.fullMessage;
  }
}

testIf(
  "network XML: evirt prints what libvirtd 9.0 keeps for each corpus definition",
  skip,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "evirt-netxml-" });
    const run = crypto.randomUUID().slice(0, 6);
    const equal: string[] = [];
    const refusedAlike: string[] = [];
    const hostDependent: string[] = [];
    const problems: string[] = [];
    let index = 0;
    try {
      for (const folder of FOLDERS) {
        const files = [...Deno.readDirSync(folder)].map((entry) => entry.name)
          .filter((file) => file.endsWith(".xml")).sort();
        for (const file of files) {
          index++;
          const name = `${ORACLE_PREFIX}net-${run}-${index}`;
          const text = renamed(
            Deno.readTextFileSync(`${folder}/${file}`),
            name,
            `ev${run}${index}`,
          );
          const path = `${dir}/${name}.xml`;
          await Deno.writeTextFile(path, text);
          const defined = await oracleVirsh(["net-define", path]);
          if (defined.code !== 0) {
            const message = defined.stderr.trim().split("\n").at(-1)?.replace(/^error: /, "");
            if (message !== undefined && HOST_DEPENDENT.test(message)) {
              hostDependent.push(`${file}: ${message}`);
              continue;
            }
            const mine = evirtRefusal(text);
            if (mine === message) refusedAlike.push(file);
            else problems.push(`${file}: libvirtd refuses "${message}", evirt says "${mine}"`);
            continue;
          }
          try {
            const dumped = await oracleVirsh(["net-dumpxml", "--inactive", name]);
            assert.equal(dumped.code, 0, dumped.stderr);
            const theirs = dumped.stdout.replace(/\n\n$/, "\n");
            let mine: string;
            try {
              mine = evirtXml(text, theirs);
            } catch (error) {
              if (!isVirtError(error)) throw error;
              problems.push(`${file}: libvirtd accepts, evirt refuses "${error.fullMessage}"`);
              continue;
            }
            if (mine === theirs) equal.push(file);
            else problems.push(`${file}: differs\n--- libvirtd\n${theirs}--- evirt\n${mine}`);
          } finally {
            const undefined_ = await oracleVirsh(["net-undefine", name]);
            assert.equal(undefined_.code, 0, undefined_.stderr);
          }
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    console.log(
      `network XML vs libvirtd: ${equal.length} equal, ${refusedAlike.length} refused alike, ` +
        `${hostDependent.length} refused by libvirtd for the host's hardware, ` +
        `${problems.length} differing`,
    );
    for (const line of hostDependent) console.log(`  host-dependent ${line}`);
    assert.deepEqual(problems, []);
    assert.ok(equal.length >= 20, `only ${equal.length} equal`);
  },
);
