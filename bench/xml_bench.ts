/**
 * Domain XML throughput on libvirt's corpus (`../shared/corpus/libvirt/qemuxml2argv`, or under
 * `EVIRT_SHARED_DIR`; the
 * definitions libvirt accepts), beside a same-run baseline: fast-xml-parser merely parsing the
 * same documents into a generic tree.
 *
 * As a script (`deno run -A bench/xml_bench.ts`) it prints definitions/s on one core for
 * parse + validate + format (goal ≥ 10,000/s; libvirt's test driver defines about 5,900/s on
 * this kind of machine), for define's whole path (parse → defaults → validate → inactive
 * format), and for each step alone. `EVIRT_BENCH_XML_ROUNDS` sets how many times the corpus is
 * run through (default 20).
 *
 * Under `deno bench` it registers the same comparisons, one definition per iteration, with the
 * baseline first in its group.
 *
 * @module
 */

import { XMLParser } from "fast-xml-parser";
import { itemsPerSecond } from "./_figures.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { applyDomainDefaults } from "../src/model/domain_defaults.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import { formatDomainXml, parseDomainXml, validateDomain } from "../src/xml/mod.ts";

/** Passes over the corpus per figure, unless `EVIRT_BENCH_XML_ROUNDS` says otherwise. */
const ROUNDS_DEFAULT = 20;
/** Definitions/s that parse + validate + format must reach on one core. */
const GOAL_DEFINITIONS_PER_SECOND = 10_000;

/** `../shared` beside the repository, or `EVIRT_SHARED_DIR`, as the tests read it. */
const sharedFolder = Deno.env.get("EVIRT_SHARED_DIR") ||
  new URL("../../shared", import.meta.url).pathname;
const corpusFolder = `${sharedFolder}/corpus/libvirt/qemuxml2argv/`;

/** The corpus definitions that parse and validate (libvirt accepts them). */
function loadCorpus(): string[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(corpusFolder)].map((entry) => entry.name).filter((name) =>
      name.endsWith(".xml")
    );
  } catch {
    return [];
  }
  return names.sort().map((name) => Deno.readTextFileSync(`${corpusFolder}${name}`)).filter(
    (text) => {
      try {
        validateDomain(parseDomainXml(text));
        return true;
      } catch {
        return false;
      }
    },
  );
}

const genericParser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  processEntities: true,
});

/** The measured steps, each taking one document. */
function steps(parsed: Map<string, DomainDefinition>): [string, (text: string) => unknown][] {
  return [
    ["baseline: fast-xml-parser parse only", (text) => genericParser.parse(text)],
    ["parse + validate + format", (text) => {
      const def = parseDomainXml(text);
      validateDomain(def);
      return formatDomainXml(def);
    }],
    ["define: parse + defaults + validate + inactive format", (text) => {
      const def = applyDomainDefaults(parseDomainXml(text));
      validateDomain(def);
      return formatDomainXml(def, { inactive: true });
    }],
    ["parse only", (text) => parseDomainXml(text)],
    ["validate only", (text) => validateDomain(parsed.get(text)!)],
    ["format only", (text) => formatDomainXml(parsed.get(text)!)],
  ];
}

function printFigures(): void {
  const corpus = loadCorpus();
  if (corpus.length === 0) {
    console.log(`xml bench: no corpus at ${corpusFolder}; nothing measured`);
    return;
  }
  const rounds = parsePositiveInteger(
    Deno.env.toObject(),
    "EVIRT_BENCH_XML_ROUNDS",
    ROUNDS_DEFAULT,
  );
  const bytes = corpus.reduce((sum, text) => sum + text.length, 0);
  const parsed = new Map(corpus.map((text) => [text, parseDomainXml(text)]));
  console.log(
    `xml bench: ${corpus.length} corpus definitions (${
      Math.round(bytes / corpus.length)
    } bytes on average), ${rounds} rounds`,
  );
  let baseline = 0;
  for (const [name, step] of steps(parsed)) {
    const rate = itemsPerSecond(corpus, rounds, step);
    if (baseline === 0) baseline = rate;
    const ratio = (rate / baseline).toFixed(2);
    const goal = name === "parse + validate + format"
      ? `  (goal ≥ ${GOAL_DEFINITIONS_PER_SECOND}/s: ${
        rate >= GOAL_DEFINITIONS_PER_SECOND ? "met" : "NOT met"
      })`
      : "";
    console.log(
      `  ${name.padEnd(56)} ${
        Math.round(rate).toString().padStart(8)
      } definitions/s  ${ratio}x baseline${goal}`,
    );
  }
}

if (import.meta.main) {
  printFigures();
} else {
  const corpus = loadCorpus();
  const parsed = new Map(corpus.map((text) => [text, parseDomainXml(text)]));
  let next = 0;
  const document = () => corpus[next++ % corpus.length];
  for (const [name, step] of steps(parsed)) {
    Deno.bench({
      name,
      group: "domain XML, one corpus definition per iteration",
      baseline: name.startsWith("baseline"),
      ignore: corpus.length === 0,
      fn: () => {
        step(document());
      },
    });
  }
}
