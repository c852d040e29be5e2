/**
 * Native configuration conversions per second over libvirt's Xen corpus
 * (`../shared/corpus/libvirt/xlconfigdata` and `xmconfigdata`, or under `EVIRT_SHARED_DIR`),
 * beside a same-run baseline: parse + format of the same domain XML alone.
 *
 * As a script (`deno run -A bench/native_formats_bench.ts`) it prints, per format,
 * conversions/s for native → XML (read the file, convert, format the XML), XML → native
 * (parse the XML, convert, write the file) and the baseline, with each one's ratio to the
 * baseline. `EVIRT_BENCH_NATIVE_ROUNDS` sets how many times each corpus is run (default 200).
 *
 * Under `deno bench` it registers the same comparisons, one case per iteration, the baseline
 * first in each format's group.
 *
 * @module
 */

import { parsePositiveInteger } from "../src/config/config.ts";
import { formatDomainXml, parseDomainXml } from "../src/xml/mod.ts";
import { NATIVE_FORMATS } from "../actors/native_formats.ts";
import { NO_HOST } from "../actors/native_conversion.ts";

/** Passes over each corpus per figure, unless `EVIRT_BENCH_NATIVE_ROUNDS` says otherwise. */
const ROUNDS_DEFAULT = 200;

const sharedFolder = Deno.env.get("EVIRT_SHARED_DIR") ||
  new URL("../../shared", import.meta.url).pathname;
const corpusFolder = `${sharedFolder}/corpus/libvirt`;

/** One corpus case: the native text and the domain XML of the same guest. */
interface Pair {
  native: string;
  xml: string;
}

const FOLDERS: readonly (readonly [string, string])[] = [
  ["xen-xl", "xlconfigdata"],
  ["xen-xm", "xmconfigdata"],
];

/** The pairs of a folder both directions convert (cases libvirt refuses are left out). */
function loadPairs(format: string, folder: string): Pair[] {
  const converter = NATIVE_FORMATS.get(format);
  let names: string[];
  try {
    names = [...Deno.readDirSync(`${corpusFolder}/${folder}`)].map((entry) => entry.name);
  } catch {
    return [];
  }
  const pairs: Pair[] = [];
  for (const name of names.filter((each) => each.endsWith(".cfg")).sort()) {
    const stem = `${corpusFolder}/${folder}/${name.slice(0, -4)}`;
    try {
      const pair = {
        native: Deno.readTextFileSync(`${stem}.cfg`),
        xml: Deno.readTextFileSync(`${stem}.xml`),
      };
      converter?.fromNative?.(pair.native);
      converter?.toNative?.(parseDomainXml(pair.xml), NO_HOST);
      pairs.push(pair);
    } catch {
      // A file without its partner, or one a direction refuses: not measured.
    }
  }
  return pairs;
}

/** The measured steps of a format, each taking one pair; the baseline first. */
function steps(format: string): [string, (pair: Pair) => unknown][] {
  const converter = NATIVE_FORMATS.get(format)!;
  return [
    ["baseline: domain XML parse + format", (pair) => formatDomainXml(parseDomainXml(pair.xml))],
    [
      `${format} → domain XML`,
      (pair) => formatDomainXml(converter.fromNative!(pair.native), { inactive: true }),
    ],
    // The Xen formats write from the definition alone: their answer is a string, not a promise.
    [`domain XML → ${format}`, (pair) => converter.toNative!(parseDomainXml(pair.xml), NO_HOST)],
  ];
}

function perSecond(pairs: Pair[], rounds: number, step: (pair: Pair) => unknown): number {
  for (const pair of pairs) step(pair); // warm up
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    for (const pair of pairs) step(pair);
  }
  return (pairs.length * rounds) / ((performance.now() - started) / 1000);
}

function printFigures(): void {
  const rounds = parsePositiveInteger(
    Deno.env.toObject(),
    "EVIRT_BENCH_NATIVE_ROUNDS",
    ROUNDS_DEFAULT,
  );
  for (const [format, folder] of FOLDERS) {
    const pairs = loadPairs(format, folder);
    if (pairs.length === 0) {
      console.log(`${format}: no corpus at ${corpusFolder}/${folder}; nothing measured`);
      continue;
    }
    console.log(`${format}: ${pairs.length} corpus cases, ${rounds} rounds`);
    let baseline = 0;
    for (const [name, step] of steps(format)) {
      const rate = perSecond(pairs, rounds, step);
      if (baseline === 0) baseline = rate;
      console.log(
        `  ${name.padEnd(40)} ${Math.round(rate).toString().padStart(8)} conversions/s  ${
          (rate / baseline).toFixed(2)
        }x baseline`,
      );
    }
  }
}

if (import.meta.main) {
  printFigures();
} else {
  for (const [format, folder] of FOLDERS) {
    const pairs = loadPairs(format, folder);
    let next = 0;
    const pair = () => pairs[next++ % pairs.length];
    for (const [name, step] of steps(format)) {
      Deno.bench({
        name: `${format}: ${name}`,
        group: `${format}, one corpus case per iteration`,
        baseline: name.startsWith("baseline"),
        ignore: pairs.length === 0,
        fn: () => {
          step(pair());
        },
      });
    }
  }
}
