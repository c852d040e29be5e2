/**
 * libvirt's LXC tools corpus (`lxcconf2xmldata`) through the `lxc-tools` native format, as
 * `virsh domxml-from-native lxc-tools` reaches it (the native format table).
 *
 * libvirt's test (`lxcconf2xmltest.c`) converts each `lxcconf2xml-NAME.config` and each
 * LXC 3.0 `lxcconf2xml-NAME-v3.config` and compares with `lxcconf2xml-NAME.xml` (its UUID fixed
 * to c7a5fdbd-…), except `fstab`, which it expects refused. The corpus holds some of those
 * expected files: a case with one must equal it; `fstab` must be refused; a case whose expected
 * file is not in the corpus must convert to XML that reads back to itself, and is checked
 * against libvirtd's own converter side by side (where its LXC driver is installed).
 *
 * Prints the counts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NATIVE_FORMATS } from "../../actors/native_formats.ts";
import { lxcToolsToDomain } from "../../drivers/lxc/lxc_tools_config.ts";
import { isVirtError, libvirtMessage } from "../../src/model/errors.ts";
import { formatDomainXml, parseDomainXml } from "../../src/xml/mod.ts";
import { corpusDir, exists, missing, testIf } from "../support/environment.ts";
import { lxcOracleSkipReason, lxcOracleVirsh } from "../support/libvirtd.ts";

const FOLDER = `${corpusDir}/lxcconf2xmldata`;
const skipReason = missing(FOLDER);

/** The UUID libvirt's test gives every converted definition. */
const TEST_UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

/** The cases libvirt's test expects refused. */
const LIBVIRT_REFUSES = new Set(["fstab"]);

interface NativeCase {
  /** The configuration file name. */
  file: string;
  /** libvirt's case name (without `lxcconf2xml-` and `-v3`). */
  name: string;
  /** The expected XML, when the corpus has it. */
  expected?: string;
}

function cases(): NativeCase[] {
  return [...Deno.readDirSync(FOLDER)].map((entry) => entry.name)
    .filter((file) => file.endsWith(".config")).sort().map((file) => {
      const name = file.replace(/^lxcconf2xml-/, "").replace(/(-v3)?\.config$/, "");
      const xml = `${FOLDER}/lxcconf2xml-${name}.xml`;
      return exists(xml) ? { file, name, expected: Deno.readTextFileSync(xml) } : { file, name };
    });
}

function convert(text: string, uuid = TEST_UUID): string {
  return formatDomainXml(lxcToolsToDomain(text, { generateUuid: () => uuid }), { inactive: true });
}

testIf("lxc-tools is a native format that converts to domain XML only", undefined, () => {
  const format = NATIVE_FORMATS.get("lxc-tools");
  assert.ok(format?.fromNative !== undefined);
  assert.equal(format.toNative, undefined);
});

testIf("LXC tools corpus converts as libvirt's expected output", skipReason, () => {
  const equal: string[] = [];
  const refused: string[] = [];
  const unlisted: string[] = [];
  const problems: string[] = [];
  const fromNative = NATIVE_FORMATS.get("lxc-tools")!.fromNative!;
  for (const item of cases()) {
    const text = Deno.readTextFileSync(`${FOLDER}/${item.file}`);
    let xml: string;
    try {
      xml = formatDomainXml({ ...fromNative(text), uuid: TEST_UUID }, { inactive: true });
    } catch (error) {
      if (!isVirtError(error)) throw error;
      if (LIBVIRT_REFUSES.has(item.name) && error.where !== undefined) {
        refused.push(`${item.file}: ${error.code} ${error.message} at ${error.where}`);
      } else {
        problems.push(`${item.file}: refused (${error.message}) but libvirt converts it`);
      }
      continue;
    }
    if (LIBVIRT_REFUSES.has(item.name)) {
      problems.push(`${item.file}: converted but libvirt refuses it`);
    } else if (item.expected === undefined) {
      if (formatDomainXml(parseDomainXml(xml), { inactive: true }) === xml) {
        unlisted.push(item.file);
      } else problems.push(`${item.file}: its XML does not read back to itself`);
    } else if (xml === item.expected) {
      equal.push(item.file);
    } else {
      problems.push(`${item.file}: differs`);
      console.error(`--- ${item.file} expected\n${item.expected}--- got\n${xml}`);
    }
  }
  console.log(
    `lxcconf2xmldata: ${cases().length} cases, ${equal.length} equal libvirt's expected output, ` +
      `${refused.length} refused as libvirt refuses them, ${unlisted.length} without an expected ` +
      `file in the corpus (read back to themselves; see the libvirtd comparison), ` +
      `${problems.length} differing`,
  );
  for (const line of refused) console.log(`  refused ${line}`);
  assert.deepEqual(problems, []);
  assert.ok(equal.length >= 5, `only ${equal.length} equal`);
  assert.equal(refused.length, 1);
});

/** The emulator libvirtd names is where its build installed the LXC controller; evirt's is libvirt's default. */
function withEvirtEmulator(text: string): string {
  return text.replace(
    /<emulator>[^<]*<\/emulator>/,
    "<emulator>/usr/libexec/libvirt_lxc</emulator>",
  );
}

testIf(
  "LXC tools corpus: evirt converts as libvirtd's LXC driver converts",
  skipReason ?? lxcOracleSkipReason,
  async () => {
    const equal: string[] = [];
    const bothRefuse: string[] = [];
    const problems: string[] = [];
    for (const item of cases()) {
      const path = `${FOLDER}/${item.file}`;
      const theirs = await lxcOracleVirsh(["domxml-from-native", "lxc-tools", path]);
      let ours: string | undefined;
      let ourError: string | undefined;
      const uuid = /<uuid>([^<]+)<\/uuid>/.exec(theirs.stdout)?.[1] ?? TEST_UUID;
      try {
        ours = convert(Deno.readTextFileSync(path), uuid);
      } catch (error) {
        if (!isVirtError(error)) throw error;
        ourError = libvirtMessage(error.code, error.message);
      }
      if (theirs.code !== 0) {
        const message = theirs.stderr.trim().replace(/^error: /, "");
        if (ourError === message) bothRefuse.push(item.file);
        else {problems.push(
            `${item.file}: libvirtd refuses (${message}), evirt: ${ourError ?? "converts"}`,
          );}
        continue;
      }
      const expected = withEvirtEmulator(theirs.stdout.replace(/\n\n$/, "\n"));
      if (ours === expected) {
        equal.push(item.file);
      } else {
        problems.push(`${item.file}: differs from libvirtd${ourError ? ` (${ourError})` : ""}`);
        console.error(`--- ${item.file} libvirtd\n${expected}--- evirt\n${ours}`);
      }
    }
    console.log(
      `lxcconf2xmldata vs libvirtd lxc:///system: ${equal.length} equal, ${bothRefuse.length} ` +
        `refused by both with the same message, ${problems.length} differing`,
    );
    assert.deepEqual(problems, []);
  },
);
