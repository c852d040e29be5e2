/**
 * libvirt's LXC domain XML corpus (`lxcxml2xmldata`): each definition goes through define as
 * evirt runs it for `type='lxc'` (parse → driver-independent defaults → the LXC driver's
 * defaults and refusals → validation) and is formatted as inactive XML.
 *
 * - Against the corpus: libvirt's own test (`lxcxml2xmltest.c`) expects every case back
 *   unchanged except `filesystem-ram` (DO_TEST_DIFFERENT: its expected file, in
 *   `lxcxml2xmloutdata`, is not part of the corpus); that case must reach a fixed point.
 * - Side by side with libvirtd's LXC driver (`lxc:///system`), where it is installed: the same
 *   document (renamed) is defined there, dumped and undefined; both outputs must be equal.
 *
 * Prints the counts per folder.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { formatDomainXml, parseDomainXml, validateDomain } from "../../src/xml/mod.ts";
import {
  checkLxcDefinition,
  completeLxcDefinition,
} from "../../drivers/lxc/lxc_definition_rules.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";
import { lxcOracleSkipReason, lxcOracleVirsh, ORACLE_PREFIX } from "../support/libvirtd.ts";

const FOLDER = `${corpusDir}/lxcxml2xmldata`;
const skipReason = missing(FOLDER);

/** The cases libvirt's test expects to change (their expected output is not in the corpus). */
const LIBVIRT_DIFFERENT = new Set(["lxc-filesystem-ram.xml"]);

function cases(): string[] {
  return [...Deno.readDirSync(FOLDER)].map((entry) => entry.name)
    .filter((name) => name.endsWith(".xml")).sort();
}

/** Define as evirt runs it for an LXC domain, then the inactive XML. */
function defineAndFormat(text: string): string {
  const parsed = parseDomainXml(text);
  const completed: DomainDefinition = completeLxcDefinition(applyDomainDefaults(parsed));
  checkLxcDefinition(completed);
  validateDomain(completed);
  return formatDomainXml(completed, { inactive: true });
}

testIf("LXC XML corpus formats as libvirt's expected output", skipReason, () => {
  const equal: string[] = [];
  const fixedPoint: string[] = [];
  const problems: string[] = [];
  for (const name of cases()) {
    const input = Deno.readTextFileSync(`${FOLDER}/${name}`);
    const output = defineAndFormat(input);
    if (output === input && !LIBVIRT_DIFFERENT.has(name)) {
      equal.push(name);
    } else if (LIBVIRT_DIFFERENT.has(name) && output !== input) {
      if (defineAndFormat(output) === output) fixedPoint.push(name);
      else problems.push(`${name}: not a fixed point`);
    } else {
      problems.push(`${name}: differs`);
      console.error(`--- ${name} expected\n${input}--- got\n${output}`);
    }
  }
  console.log(
    `lxcxml2xmldata: ${cases().length} cases, ${equal.length} equal libvirt's expected output, ` +
      `${fixedPoint.length} changed as libvirt changes them (expected file not in the corpus; ` +
      `fixed point), ${problems.length} differing`,
  );
  assert.deepEqual(problems, []);
  assert.ok(equal.length >= 6, `only ${equal.length} equal`);
});

/**
 * libvirtd's security manager names itself in a `type='none'` label (`model='none'` on a host
 * without SELinux or AppArmor); libvirt's own test, without a security driver, keeps the label
 * as written, and so does evirt, which has no security driver for containers.
 */
function withoutSecurityModel(text: string): string {
  return text.replace("<seclabel type='none' model='none'/>", "<seclabel type='none'/>");
}

/** The document under a name the oracle may own. */
function renamed(text: string, name: string): string {
  return text.replace(/<name>[^<]*<\/name>/, `<name>${name}</name>`);
}

testIf(
  "LXC XML corpus: evirt's define gives what libvirtd's LXC driver gives",
  skipReason ?? lxcOracleSkipReason,
  async () => {
    const equal: string[] = [];
    const problems: string[] = [];
    const temp = await Deno.makeTempDir({ prefix: "evirt-lxcxml-" });
    try {
      for (const name of cases()) {
        const oracleName = `${ORACLE_PREFIX}${name.replace(/\.xml$/, "")}`;
        const input = renamed(Deno.readTextFileSync(`${FOLDER}/${name}`), oracleName);
        const path = `${temp}/${name}`;
        await Deno.writeTextFile(path, input);
        const defined = await lxcOracleVirsh(["define", path]);
        if (defined.code !== 0) {
          problems.push(`${name}: libvirtd refused it: ${defined.stderr.trim()}`);
          continue;
        }
        try {
          const dumped = await lxcOracleVirsh(["dumpxml", "--inactive", oracleName]);
          assert.equal(dumped.code, 0, dumped.stderr);
          const ours = defineAndFormat(input);
          const theirs = withoutSecurityModel(dumped.stdout.replace(/\n\n$/, "\n"));
          if (ours === theirs) equal.push(name);
          else {
            problems.push(`${name}: differs from libvirtd`);
            console.error(`--- ${name} libvirtd\n${dumped.stdout}--- evirt\n${ours}`);
          }
        } finally {
          await lxcOracleVirsh(["undefine", oracleName]);
        }
      }
    } finally {
      await Deno.remove(temp, { recursive: true });
    }
    console.log(
      `lxcxml2xmldata vs libvirtd lxc:///system: ${equal.length} equal, ${problems.length} differing`,
    );
    assert.deepEqual(problems, []);
  },
);
