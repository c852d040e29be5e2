/**
 * libvirt's domain snapshot XML corpus (`qemudomainsnapshotxml2xml{in,out}`), read as libvirt
 * 9.0's qemudomainsnapshotxml2xmltest reads it: a user's document formatted after creation
 * gave it a time (and a name), a stored one (`--redefine`) formatted back unchanged, an in
 * document without an expected output formatted to itself. Prints the counts (equal byte for
 * byte; equivalent: same elements and values, quoting aside; differing); every document
 * evirt writes validates against domainsnapshot.rng (with xmllint, where installed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { isVirtError } from "../../src/model/errors.ts";
import { formatSnapshotXml } from "../../src/xml/format_snapshot.ts";
import { parseSnapshotXml } from "../../src/xml/parse_snapshot.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";
import { xmlDifference } from "./xml_corpus.ts";

const IN = `${corpusDir}/qemudomainsnapshotxml2xmlin`;
const OUT = `${corpusDir}/qemudomainsnapshotxml2xmlout`;
const SCHEMA = `${corpusDir}/schemas/domainsnapshot.rng`;
const skipReason = missing(IN, OUT, SCHEMA);

/** One case of libvirt's test: its folders, the uuid and time it passes, its flags. */
interface SnapshotCase {
  name: string;
  mode: "in->out" | "out->out" | "in->in";
  uuid?: string;
  creationTimeSeconds?: number;
  internal?: boolean;
  running?: boolean;
}

const UUID_A = "9d37b878-a7cc-9f9a-b78f-49b3abad25a8";
const UUID_B = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

/** libvirt 9.0's table (DO_TEST_OUT, DO_TEST_INOUT, DO_TEST_IN); cases whose files the corpus lacks are skipped. */
const CASES: SnapshotCase[] = [
  { name: "all_parameters", mode: "out->out", uuid: UUID_A, internal: true },
  { name: "disk_snapshot_redefine", mode: "out->out", uuid: UUID_B, internal: true },
  { name: "full_domain", mode: "out->out", uuid: UUID_B, internal: true },
  { name: "noparent_nodescription_noactive", mode: "out->out" },
  { name: "noparent_nodescription", mode: "out->out", internal: true },
  { name: "noparent", mode: "out->out", uuid: UUID_A },
  { name: "metadata", mode: "out->out", uuid: UUID_B },
  { name: "external_vm_redefine", mode: "out->out", uuid: UUID_B },
  { name: "empty", mode: "in->out", uuid: UUID_A, creationTimeSeconds: 1386166249 },
  {
    name: "noparent",
    mode: "in->out",
    uuid: UUID_A,
    creationTimeSeconds: 1272917631,
    running: true,
  },
  { name: "external_vm", mode: "in->out", creationTimeSeconds: 1555419243 },
  { name: "disk_snapshot", mode: "in->out", creationTimeSeconds: 1555419243 },
  { name: "disk_driver_name_null", mode: "in->out", creationTimeSeconds: 1555419243 },
  { name: "disk-seclabel", mode: "in->out", uuid: UUID_A, creationTimeSeconds: 581484660 },
  { name: "name_and_description", mode: "in->in" },
  { name: "description_only", mode: "in->in" },
  { name: "name_only", mode: "in->in" },
  { name: "qcow2-metadata-cache", mode: "in->out", uuid: UUID_A, creationTimeSeconds: 1386166249 },
  // In libvirt's memory-snapshot-inactivedomain test the stored document is read back.
  { name: "memory-snapshot-inactivedomain", mode: "out->out" },
];

function read(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** libvirt's test: parse, give a new snapshot its time and name, format. */
function formatCase(input: string, test: SnapshotCase): string {
  const redefine = test.mode === "out->out";
  const { definition, current } = parseSnapshotXml(input, {
    redefine,
    internal: test.internal === true,
  });
  if (!redefine && test.creationTimeSeconds !== undefined) {
    definition.creationTimeSeconds = test.creationTimeSeconds;
    definition.name ??= String(test.creationTimeSeconds);
  }
  if (test.running === true) definition.state = "running";
  return formatSnapshotXml(definition, {
    secure: true,
    internal: test.internal === true,
    current,
    ...(test.uuid === undefined ? {} : { uuid: test.uuid }),
  });
}

testIf("snapshot XML corpus formats as libvirt's expected output", skipReason, async () => {
  const equal: string[] = [];
  const equivalent: string[] = [];
  const differing: string[] = [];
  const absent: string[] = [];
  const written = new Map<string, string>();
  for (const test of CASES) {
    const inPath = `${test.mode === "out->out" ? OUT : IN}/${test.name}.xml`;
    const outPath = `${test.mode === "in->in" ? IN : OUT}/${test.name}.xml`;
    const input = read(inPath);
    const expected = read(outPath);
    if (input === undefined || expected === undefined) {
      absent.push(`${test.mode} ${test.name}`);
      continue;
    }
    const id = `${test.mode} ${test.name}`;
    const actual = formatCase(input, test);
    written.set(id, actual);
    if (actual === expected) equal.push(id);
    else if (xmlDifference(expected, actual) === undefined) {
      // Same elements and values; libvirt writes a domain's <metadata> through libxml2, with
      // double quotes, where evirt writes every attribute with single quotes.
      equivalent.push(id);
    } else {
      differing.push(id);
      console.error(`--- ${id} expected\n${expected}--- got\n${actual}`);
    }
  }
  console.log(
    `snapshots: ${CASES.length} cases, ${equal.length} equal libvirt's output, ` +
      `${equivalent.length} equivalent (quoting only), ${differing.length} differing, ${absent.length} not in the corpus`,
  );
  assert.deepEqual(differing, []);
  assert.ok(equal.length + equivalent.length >= 10, `only ${equal.length} cases compared`);
  if (missing("xmllint") !== undefined) return;
  const folder = await Deno.makeTempDir({ prefix: "evirt-snapshot-schema-" });
  try {
    const files: string[] = [];
    for (const [id, text] of written) {
      const file = `${folder}/${id.replace(/[^a-z0-9_-]+/gi, "_")}.xml`;
      await Deno.writeTextFile(file, text);
      files.push(file);
    }
    const output = await new Deno.Command("xmllint", {
      args: ["--noout", "--relaxng", SCHEMA, ...files],
      stdout: "null",
      stderr: "piped",
    }).output();
    const invalid = new TextDecoder().decode(output.stderr).split("\n").filter((line) =>
      line.endsWith("fails to validate")
    );
    assert.deepEqual(invalid, []);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

testIf("every snapshot document libvirt's schema refuses is refused", skipReason, () => {
  const input = read(`${IN}/disk-invalid.xml`);
  if (input === undefined) return;
  assert.throws(() => parseSnapshotXml(input), (error) => isVirtError(error) && error.code === 27);
});
