/**
 * libvirt's storage pool and volume XML corpus: every input parses, and formatting it gives
 * exactly libvirt's expected output (`storagepoolxml2xmlout`, `storagevolxml2xmlout`); inputs
 * without an expected output (argv-only cases) format to a fixed point. Volumes are read in
 * the context of the pool type libvirt's test pairs them with. Prints the counts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { isVirtError } from "../../src/model/errors.ts";
import type { PoolType } from "../../src/model/storage_pool.ts";
import { formatPoolXml } from "../../src/xml/format_storage_pool.ts";
import { formatVolumeXml } from "../../src/xml/format_storage_volume.ts";
import { parsePoolXml } from "../../src/xml/parse_storage_pool.ts";
import { type CapacityRule, parseVolumeXml } from "../../src/xml/parse_storage_volume.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";

const POOL_IN = `${corpusDir}/storagepoolxml2xmlin`;
const POOL_OUT = `${corpusDir}/storagepoolxml2xmlout`;
const VOLUME_IN = `${corpusDir}/storagevolxml2xmlin`;
const VOLUME_OUT = `${corpusDir}/storagevolxml2xmlout`;
const skipReason = missing(POOL_IN, POOL_OUT, VOLUME_IN, VOLUME_OUT);

/** The pool type libvirt's storagevolxml2xmltest reads each volume with. */
function volumePoolType(name: string): PoolType {
  if (name.startsWith("vol-logical")) return "logical";
  if (name.startsWith("vol-gluster")) return "gluster";
  if (name.startsWith("vol-partition")) return "disk";
  if (name.startsWith("vol-sheepdog")) return "sheepdog";
  return "dir";
}

/** libvirt's capacity flag per case (VIR_VOL_XML_PARSE_OPT_CAPACITY / NO_CAPACITY). */
function volumeCapacityRule(name: string): CapacityRule {
  if (name === "vol-qcow2-nocapacity-backing") return "optional";
  if (name === "vol-qcow2-nocapacity") return "optional-with-backing";
  return "required";
}

function xmlFiles(folder: string): string[] {
  return [...Deno.readDirSync(folder)].map((entry) => entry.name).filter((name) =>
    name.endsWith(".xml")
  ).sort();
}

function outputOf(folder: string, name: string): string | undefined {
  try {
    return Deno.readTextFileSync(`${folder}/${name}`);
  } catch {
    return undefined;
  }
}

interface Tally {
  matched: string[];
  fixedPoint: string[];
  refused: string[];
  differing: string[];
}

function check(
  name: string,
  expected: string | undefined,
  format: () => string,
  reformat: (text: string) => string,
  tally: Tally,
): void {
  let text: string;
  try {
    text = format();
  } catch (error) {
    if (isVirtError(error)) {
      tally.refused.push(`${name}: ${error.message} at ${error.where}`);
      return;
    }
    throw error;
  }
  if (expected === undefined) {
    if (reformat(text) === text) tally.fixedPoint.push(name);
    else tally.differing.push(name);
  } else if (text === expected) {
    tally.matched.push(name);
  } else {
    tally.differing.push(name);
    console.error(`--- ${name} expected\n${expected}--- got\n${text}`);
  }
}

function report(kind: string, tally: Tally): void {
  console.log(
    `${kind}: ${tally.matched.length} equal libvirt's output, ${tally.fixedPoint.length} without ` +
      `an expected output format to a fixed point, ${tally.refused.length} refused, ` +
      `${tally.differing.length} differing`,
  );
  for (const line of tally.refused) console.log(`  refused ${line}`);
}

testIf("pool XML corpus formats as libvirt's expected output", skipReason, () => {
  const tally: Tally = { matched: [], fixedPoint: [], refused: [], differing: [] };
  for (const name of xmlFiles(POOL_IN)) {
    const input = Deno.readTextFileSync(`${POOL_IN}/${name}`);
    check(
      name,
      outputOf(POOL_OUT, name),
      () => formatPoolXml(parsePoolXml(input)),
      (text) => formatPoolXml(parsePoolXml(text)),
      tally,
    );
  }
  report("pools", tally);
  assert.deepEqual(tally.differing, []);
  assert.deepEqual(tally.refused, []);
  assert.ok(tally.matched.length >= 19);
});

testIf("volume XML corpus formats as libvirt's expected output", skipReason, () => {
  const tally: Tally = { matched: [], fixedPoint: [], refused: [], differing: [] };
  for (const name of xmlFiles(VOLUME_IN)) {
    const base = name.slice(0, -4);
    const poolType = volumePoolType(base);
    const capacity = volumeCapacityRule(base);
    const input = Deno.readTextFileSync(`${VOLUME_IN}/${name}`);
    check(
      name,
      outputOf(VOLUME_OUT, name),
      () => formatVolumeXml(parseVolumeXml(input, poolType, { capacity }), poolType),
      (text) => formatVolumeXml(parseVolumeXml(text, poolType, { capacity }), poolType),
      tally,
    );
  }
  report("volumes", tally);
  assert.deepEqual(tally.differing, []);
  assert.deepEqual(tally.refused, []);
  assert.ok(tally.matched.length >= 10);
});
