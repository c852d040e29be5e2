/**
 * Conformance of the domain XML parser, formatter, defaults and validator with libvirt, on
 * libvirt's own test corpus. Each test prints its counts and fails on any miss; all are
 * skipped (counted) when the corpus is absent.
 */

import assert from "node:assert/strict";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { domainFromJson } from "../../src/model/domain_json.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { formatDomainXml, parseDomainXml, validateDomain } from "../../src/xml/mod.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  type CorpusCase,
  corpusCases,
  corpusSkipReason,
  domainSchemaPath,
  xmlDifference,
} from "./xml_corpus.ts";

/**
 * Cases whose defaults-then-inactive output may differ from libvirt's expected output, each
 * with its reason (at most five). None differ today; a case listed here must really differ.
 */
const KNOWN_DIFFERENCES: ReadonlyMap<string, string> = new Map();

/** Error codes `validateDomain` may answer with (libvirt's invalid arg, XML error, unsupported config). */
const VALIDATION_CODES = new Set([8, 27, 67]);

let cachedCases: CorpusCase[] | undefined;
function cases(): CorpusCase[] {
  return (cachedCases ??= corpusCases());
}

/** Cases libvirt parses and formats: every qemuxml2argv input and the listed same/different ones. */
function parsedCases(): CorpusCase[] {
  return cases().filter((item) =>
    item.id.startsWith("qemuxml2argv/") || item.expectation === "same" ||
    item.expectation === "different"
  );
}

/** Parse → defaults (deterministic) → inactive format, as define stores it. */
function defined(def: DomainDefinition): DomainDefinition {
  return applyDomainDefaults(def, {
    generateUuid: () => "c7a5fdbd-cdaf-9455-926a-d65c16db1809",
    generateMac: () => "52:54:00:00:00:01",
  });
}

function report(name: string, counts: Record<string, number>): void {
  console.log(
    `${name}: ${Object.entries(counts).map(([key, value]) => `${value} ${key}`).join(", ")}`,
  );
}

testIf("parseDomainXml round-trips every libvirt corpus definition", corpusSkipReason, () => {
  const failures: string[] = [];
  const list = parsedCases();
  for (const item of list) {
    try {
      const def = parseDomainXml(Deno.readTextFileSync(item.path));
      const again = parseDomainXml(formatDomainXml(def, { secure: true }));
      assert.deepStrictEqual(again, def, "parse(format(parse(x))) differs from parse(x)");
    } catch (error) {
      failures.push(`${item.id}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  report("round trip", {
    cases: list.length,
    passed: list.length - failures.length,
    failed: failures.length,
  });
  assert.deepStrictEqual(failures, []);
});

testIf("the domain JSON form round-trips every libvirt corpus definition", corpusSkipReason, () => {
  const failures: string[] = [];
  const list = parsedCases();
  for (const item of list) {
    try {
      const def = parseDomainXml(Deno.readTextFileSync(item.path));
      for (const form of [def, defined(def)]) {
        const copy = domainFromJson(JSON.parse(JSON.stringify(form)));
        assert.deepStrictEqual(copy, form, "a JSON round trip changed the definition");
      }
    } catch (error) {
      failures.push(`${item.id}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  report("JSON round trip", {
    cases: list.length,
    passed: list.length - failures.length,
    failed: failures.length,
  });
  assert.deepStrictEqual(failures, []);
});

testIf(
  "formatDomainXml output validates against libvirt's domain.rng",
  corpusSkipReason ?? missing("xmllint"),
  async () => {
    const folder = await Deno.makeTempDir({ prefix: "evirt-xml-rng-" });
    try {
      const files = new Map<string, string>();
      parsedCases().forEach((item, index) => {
        const def = parseDomainXml(Deno.readTextFileSync(item.path));
        const plain = `${folder}/${index}-plain.xml`;
        const stored = `${folder}/${index}-defined.xml`;
        Deno.writeTextFileSync(plain, formatDomainXml(def, { secure: true }));
        Deno.writeTextFileSync(stored, formatDomainXml(defined(def), { inactive: true }));
        files.set(plain, `${item.id} (as parsed)`);
        files.set(stored, `${item.id} (defaults, inactive)`);
      });
      const output = await new Deno.Command("xmllint", {
        args: ["--noout", "--relaxng", domainSchemaPath, ...files.keys()],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const lines = new TextDecoder().decode(output.stderr).split("\n");
      const valid = new Set(
        lines.filter((line) => line.endsWith(" validates")).map((line) => line.slice(0, -10)),
      );
      const failures = [...files].filter(([path]) => !valid.has(path)).map(([path, id]) =>
        `${id}: ${lines.filter((line) => line.startsWith(path)).join(" | ")}`
      );
      report("domain.rng", { documents: files.size, valid: valid.size, invalid: failures.length });
      assert.deepStrictEqual(failures, []);
      assert.equal(output.code, 0);
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
);

testIf(
  "applyDomainDefaults then inactive formatDomainXml gives libvirt's output",
  corpusSkipReason,
  () => {
    const differing: string[] = [];
    const matched: string[] = [];
    const list = cases().filter((item) =>
      item.expectation === "same" || item.expectation === "different"
    );
    for (const item of list) {
      const def = parseDomainXml(Deno.readTextFileSync(item.path));
      // A "same" case that carries a live id was checked by libvirt as live XML.
      const text = formatDomainXml(defined(def), {
        inactive: item.outPath !== undefined || def.id === undefined,
      });
      const difference = xmlDifference(Deno.readTextFileSync(item.outPath ?? item.path), text);
      if (difference === undefined) matched.push(item.id);
      else differing.push(`${item.id}: ${difference}`);
    }
    const unexplained = differing.filter((line) => !KNOWN_DIFFERENCES.has(line.split(":")[0]));
    const stale = [...KNOWN_DIFFERENCES.keys()].filter((id) => matched.includes(id));
    report("libvirt output", {
      cases: list.length,
      equivalent: matched.length,
      "listed differences": differing.length,
    });
    assert.ok(KNOWN_DIFFERENCES.size <= 5, "at most five cases may differ");
    assert.deepStrictEqual(unexplained, []);
    assert.deepStrictEqual(stale, [], "a listed difference no longer differs");
  },
);

testIf(
  "validateDomain refuses every definition libvirt refuses as invalid XML",
  corpusSkipReason,
  () => {
    const list = cases().filter((item) =>
      item.expectation === "reject-live" || item.expectation === "reject-inactive" ||
      item.error?.startsWith("XML error:") === true
    );
    const missed: string[] = [];
    for (const item of list) {
      const def = parseDomainXml(Deno.readTextFileSync(item.path));
      const live = item.expectation === "reject-live";
      // Refused as parsed, and still refused once libvirt's defaults are applied.
      for (const [form, label] of [[def, "as parsed"], [defined(def), "with defaults"]] as const) {
        try {
          validateDomain(form, { live });
          missed.push(`${item.id} (${label}): accepted`);
        } catch (error) {
          if (
            !isVirtError(error) || !VALIDATION_CODES.has(error.code) || error.where === undefined
          ) {
            missed.push(`${item.id} (${label}): untyped error ${error}`);
          }
        }
      }
    }
    report("rejects", {
      cases: list.length,
      refused: list.length - missed.length,
      missed: missed.length,
    });
    assert.deepStrictEqual(missed, []);
  },
);

testIf("validateDomain accepts every definition libvirt accepts", corpusSkipReason, () => {
  const list = cases().filter((item) =>
    item.expectation === "accepted" || item.expectation === "same" ||
    item.expectation === "different"
  );
  const refused: string[] = [];
  for (const item of list) {
    const def = parseDomainXml(Deno.readTextFileSync(item.path));
    try {
      validateDomain(def);
      validateDomain(defined(def));
    } catch (error) {
      refused.push(`${item.id}: ${(error as Error).message}`);
    }
  }
  report("accepts", {
    cases: list.length,
    accepted: list.length - refused.length,
    refused: refused.length,
  });
  assert.deepStrictEqual(refused, []);
});
