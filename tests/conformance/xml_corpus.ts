/**
 * libvirt's domain XML corpus (`../shared/corpus/libvirt`) as test cases, and an XML
 * equivalence check for comparing formatted output with libvirt's.
 *
 * The corpus is data read at test time; nothing of it is copied into the repository.
 *
 * @module
 */

import type { XmlElement } from "../../src/model/xml_extra.ts";
import { readXml } from "../../src/xml/xml_reader.ts";
import { corpusDir, missing } from "../support/environment.ts";

/** What libvirt does with a case. */
export type CorpusExpectation =
  | "same"
  | "different"
  | "reject-live"
  | "reject-inactive"
  | "accepted"
  | "other";

/** One corpus document. */
export interface CorpusCase {
  /** `qemuxml2argv/NAME` or `genericxml2xml/NAME`. */
  id: string;
  /** The input file. */
  path: string;
  /** libvirt's formatted output, when it differs from the input (`genericxml2xml/out`). */
  outPath?: string;
  /** How libvirt treats it. */
  expectation: CorpusExpectation;
  /** For refused qemuxml2argv inputs: the first line of libvirt's error. */
  error?: string;
}

/** The corpus folders the tests read; the reason to skip when they are absent. */
export const corpusSkipReason: string | undefined = missing(
  `${corpusDir}/qemuxml2argv`,
  `${corpusDir}/genericxml2xml/EXPECTATIONS.md`,
);

/** libvirt's RelaxNG schema of domain XML. */
export const domainSchemaPath = `${corpusDir}/schemas/domain.rng`;

/**
 * Every case: each `qemuxml2argv/*.xml` (accepted when libvirt generated a command line for
 * it, refused when an `.err` file holds its error) and each `genericxml2xml/in` case that
 * `EXPECTATIONS.md` lists.
 */
export function corpusCases(): CorpusCase[] {
  return [...qemuCases(), ...genericCases()];
}

function qemuCases(): CorpusCase[] {
  const folder = `${corpusDir}/qemuxml2argv`;
  const names = [...Deno.readDirSync(folder)].map((entry) => entry.name).sort();
  return names.filter((name) => name.endsWith(".xml")).map((name) => {
    const base = name.slice(0, -4);
    const related = names.filter((other) =>
      other === `${base}.err` || other.startsWith(`${base}.`)
    );
    const errorFile = related.find((other) => other.endsWith(".err"));
    const accepted = related.some((other) => other.endsWith(".args"));
    const error = errorFile === undefined
      ? undefined
      : Deno.readTextFileSync(`${folder}/${errorFile}`).split("\n")[0];
    return {
      id: `qemuxml2argv/${base}`,
      path: `${folder}/${name}`,
      expectation: accepted ? "accepted" : "other",
      ...(error === undefined ? {} : { error }),
    };
  });
}

function genericCases(): CorpusCase[] {
  const folder = `${corpusDir}/genericxml2xml`;
  const expectations = Deno.readTextFileSync(`${folder}/EXPECTATIONS.md`);
  const labels: [string, CorpusExpectation][] = [
    ["different", "different"],
    ["same", "same"],
    ["reject (live)", "reject-live"],
    ["reject (inactive)", "reject-inactive"],
  ];
  return labels.flatMap(([label, expectation]) =>
    listedNames(expectations, label).map((name) => {
      const outPath = `${folder}/out/${name}.xml`;
      let hasOut = true;
      try {
        Deno.statSync(outPath);
      } catch {
        hasOut = false;
      }
      return {
        id: `genericxml2xml/${name}`,
        path: `${folder}/in/${name}.xml`,
        expectation,
        ...(hasOut ? { outPath } : {}),
      };
    })
  );
}

/** The names after `label:` in EXPECTATIONS.md, up to the next blank line. */
function listedNames(text: string, label: string): string[] {
  const start = text.indexOf(`\n${label}:`);
  if (start === -1) throw new Error(`EXPECTATIONS.md has no '${label}:' list`);
  const body = text.slice(start + label.length + 2).split(/\n\s*\n/)[0];
  return body.split(/[\s,]+/).filter((name) => name !== "");
}

/**
 * Compares two XML documents by elements and values: names, child order, attribute values
 * (their order ignored) and text (surrounding whitespace ignored).
 *
 * @returns Undefined when equivalent, else where they first differ.
 */
export function xmlDifference(expected: string, actual: string): string | undefined {
  return elementDifference(readXml(expected), readXml(actual), "");
}

function elementDifference(
  expected: XmlElement,
  actual: XmlElement,
  path: string,
): string | undefined {
  const here = `${path}/${expected.name}`;
  if (expected.name !== actual.name) return `${here}: element <${actual.name}> instead`;
  const expectedAttributes = expected.attributes ?? {};
  const actualAttributes = actual.attributes ?? {};
  for (
    const name of new Set([...Object.keys(expectedAttributes), ...Object.keys(actualAttributes)])
  ) {
    if (expectedAttributes[name] !== actualAttributes[name]) {
      return `${here}/@${name}: '${actualAttributes[name]}' instead of '${
        expectedAttributes[name]
      }'`;
    }
  }
  const text = (element: XmlElement) =>
    (element.children ?? []).filter((child) => typeof child === "string").join("").trim();
  if (text(expected) !== text(actual)) {
    return `${here}: text '${text(actual)}' instead of '${text(expected)}'`;
  }
  const elements = (element: XmlElement) =>
    (element.children ?? []).filter((child): child is XmlElement => typeof child !== "string");
  const expectedChildren = elements(expected);
  const actualChildren = elements(actual);
  for (let index = 0; index < Math.max(expectedChildren.length, actualChildren.length); index++) {
    const wanted = expectedChildren[index];
    const got = actualChildren[index];
    if (wanted === undefined) return `${here}: extra <${got.name}>`;
    if (got === undefined) return `${here}: missing <${wanted.name}>`;
    const difference = elementDifference(wanted, got, here);
    if (difference !== undefined) return difference;
  }
  return undefined;
}
