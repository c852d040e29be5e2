/**
 * Fuzzing of the domain XML path with mutations of libvirt's corpus: no crash (every failure
 * is a typed VirtError), no hang (each case within a bound), no unbounded memory, and whatever
 * is accepted round-trips stably.
 *
 * `EVIRT_XML_FUZZ_CASES` sets the number of cases (default 3000), `EVIRT_XML_FUZZ_SEED` the
 * seed (printed, so a failure can be replayed).
 */

import { checkCountLimits } from "../../src/model/device_limits.ts";
import assert from "node:assert/strict";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { domainFromJson } from "../../src/model/domain_json.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { formatDomainXml, parseDomainXml, validateDomain } from "../../src/xml/mod.ts";
import type { XmlElement } from "../../src/model/xml_extra.ts";
import { readXml } from "../../src/xml/xml_reader.ts";
import { writeXml } from "../../src/xml/xml_writer.ts";
import { corpusDir, testIf } from "../support/environment.ts";
import { seededRandom } from "../support/seeded_random.ts";
import { corpusSkipReason } from "./xml_corpus.ts";

const CASES_DEFAULT = 3000;
const SEED_DEFAULT = 20240611;
/**
 * A case taking longer than this is a hang or a quadratic path, not slowness: a hostile 1 MiB
 * document takes about 0.1–1 s on a loaded 2-core machine, while the quadratic paths these cases
 * guard against took minutes. This is a guard against runaway cost, not a performance target
 * (figures live in bench/xml_bench.ts and bench/define_load_bench.ts), so it leaves room for a
 * machine busy with other work.
 */
const CASE_TIME_MAX_MS = 15_000;
/** Size limit when reading back formatted output in these checks. */
const FORMATTED_MAX_BYTES = 64 * 1024 * 1024;
/** Heap the fuzz run may add; the cases are independent, so growth beyond this is a leak. */
const HEAP_GROWTH_MAX_BYTES = 512 * 1024 * 1024;

const TOKENS = [
  "<",
  ">",
  "&",
  "&amp;",
  "&#0;",
  "&#x110000;",
  "&lol;",
  "'",
  '"',
  "</domain>",
  `<!DOCTYPE domain [<!ENTITY a "${"x".repeat(64)}">]>`,
  "<![CDATA[",
  "]]>",
  "<!--",
  "-->",
  "<?pi ",
  "\u0000",
  "\uFFFF",
  "é",
  "\u{1D11E}",
  " unit='EiB'",
  "99999999999999999999",
  "-1",
  "0x",
  "<memory unit='PiB'>9999999</memory>",
  "<disk type='file'><target dev='vda'/></disk>",
  "<address type='pci' slot='0x1f'/>",
  "<foo:bar xmlns:foo='urn:x' a='b'>t</foo:bar>",
  "<vcpu>0</vcpu>",
  "<name>a/b</name>",
  "<cachetune vcpus='0-99999999'/>",
];

function mutate(text: string, corpus: string[], next: () => number): string {
  const at = () => Math.floor(next() * (text.length + 1));
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)];
  const start = at();
  const end = Math.min(text.length, start + Math.floor(next() * 200));
  switch (Math.floor(next() * 9)) {
    case 0:
      return text.slice(0, start) + text.slice(end);
    case 1:
      return text.slice(0, at()) + text.slice(start, end) + text.slice(at());
    case 2: {
      const position = at();
      return text.slice(0, position) + pick(TOKENS) + text.slice(position);
    }
    case 3: {
      const other = at();
      const [first, second] = start < other ? [start, other] : [other, start];
      return text.slice(0, first) + text.slice(second, second + 50) +
        text.slice(first + 50, second) +
        text.slice(first, first + 50) + text.slice(second + 50);
    }
    case 4:
      return text.replace(
        /[0-9]+/g,
        (digits) =>
          next() < 0.05 ? pick(["0", "-1", "18446744073709551616", "0x1f", "007"]) : digits,
      );
    case 5:
      return text.slice(0, start);
    case 6: {
      const depth = 1 + Math.floor(next() * 400);
      return text.slice(0, start) + "<n>".repeat(depth) + "</n>".repeat(depth) + text.slice(start);
    }
    case 7:
      return text.replace(
        /='[^']*'/g,
        (value) => next() < 0.05 ? `='${pick(TOKENS).replaceAll("'", "")}'` : value,
      );
    default: {
      const donor = pick(corpus);
      const from = Math.floor(next() * donor.length);
      return text.slice(0, start) + donor.slice(from, from + Math.floor(next() * 400)) +
        text.slice(end);
    }
  }
}

const VALUES = [
  "",
  "0",
  "-1",
  "1",
  "7",
  "0x1f",
  "18446744073709551616",
  "yes",
  "no",
  "on",
  "virtio",
  "pci",
  "usb",
  "tcp",
  "unix",
  "udp",
  "vnc",
  "0-3,^1",
  "a/b",
  "KiB",
  "EiB",
  "b",
  "hd",
  "sda",
  "vda",
  "q35",
  "pc",
  "pcie-root",
  "pci-root",
  "connect",
  "bind",
  "address",
  "socket",
  "network",
  "restrictive",
  "both",
  "code",
];

/** Tree-level mutations keep the document well-formed, so they reach the typed and semantic layers. */
function mutateTree(text: string, corpus: string[], next: () => number): string {
  const root = readXml(text, { maxBytes: 64 * 1024 * 1024, maxDepth: 100_000 });
  const all: XmlElement[] = [];
  const collect = (element: XmlElement) => {
    all.push(element);
    for (const child of element.children ?? []) if (typeof child !== "string") collect(child);
  };
  collect(root);
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)];
  const target = pick(all);
  const children = (target.children ??= []);
  switch (Math.floor(next() * 6)) {
    case 0: // drop a child
      if (children.length > 0) children.splice(Math.floor(next() * children.length), 1);
      break;
    case 1: // duplicate a child
      if (children.length > 0) children.push(structuredClone(pick(children)));
      break;
    case 2: { // set an attribute, known or new, to a troublesome value
      const names = [
        ...Object.keys(target.attributes ?? {}),
        "type",
        "index",
        "port",
        "slot",
        "bus",
        "mode",
        "unit",
      ];
      (target.attributes ??= {})[pick(names)] = pick(VALUES);
      break;
    }
    case 3: // replace the text
      target.children = [pick(VALUES)];
      break;
    case 4: { // graft an element from another definition
      const donor: XmlElement[] = [];
      const gather = (element: XmlElement) => {
        donor.push(element);
        for (const child of element.children ?? []) if (typeof child !== "string") gather(child);
      };
      gather(readXml(pick(corpus)));
      children.splice(Math.floor(next() * (children.length + 1)), 0, structuredClone(pick(donor)));
      break;
    }
    default: // move a child to another element
      if (children.length > 0) {
        const [moved] = children.splice(Math.floor(next() * children.length), 1);
        (pick(all).children ??= []).push(moved);
      }
  }
  return writeXml(root);
}

/** Runs one input through the whole path; returns "accepted" or the refusal's error code. */
function exercise(text: string): string {
  let def;
  try {
    def = parseDomainXml(text);
  } catch (error) {
    if (!isVirtError(error, 27)) throw new Error(`parse threw ${error}`, { cause: error });
    return "parse 27";
  }
  // Formatting adds indentation, so the output may exceed the input's size limit.
  const again = parseDomainXml(formatDomainXml(def, { secure: true }), {
    maxBytes: FORMATTED_MAX_BYTES,
  });
  assert.deepStrictEqual(again, def, "an accepted document does not round-trip");
  domainFromJson(JSON.parse(JSON.stringify(def)));
  // As the define path does: count limits before any costly step (defaults add elements).
  try {
    checkCountLimits(def);
  } catch (error) {
    if (!isVirtError(error)) throw new Error(`limits threw ${error}`, { cause: error });
    return `limits ${error.code}`;
  }
  let defined;
  try {
    defined = applyDomainDefaults(def);
  } catch (error) {
    if (!isVirtError(error)) throw new Error(`defaults threw ${error}`, { cause: error });
    return `defaults ${error.code}`;
  }
  parseDomainXml(formatDomainXml(defined, { inactive: true }), { maxBytes: FORMATTED_MAX_BYTES });
  for (const live of [false, true]) {
    try {
      validateDomain(defined, { live });
    } catch (error) {
      if (!isVirtError(error)) throw new Error(`validate threw ${error}`, { cause: error });
      return `validate ${error.code}`;
    }
  }
  return "accepted";
}

testIf("domain XML fuzzing finds no crash, hang or unbounded memory", corpusSkipReason, () => {
  const cases = Number(Deno.env.get("EVIRT_XML_FUZZ_CASES") ?? CASES_DEFAULT);
  const seed = Number(Deno.env.get("EVIRT_XML_FUZZ_SEED") ?? SEED_DEFAULT);
  assert.ok(Number.isSafeInteger(cases) && cases >= 0, "EVIRT_XML_FUZZ_CASES must be a count");
  const folder = `${corpusDir}/qemuxml2argv`;
  const corpus = [...Deno.readDirSync(folder)].filter((entry) => entry.name.endsWith(".xml"))
    .map((entry) => entry.name).sort().map((name) => Deno.readTextFileSync(`${folder}/${name}`));
  const heapBefore = Deno.memoryUsage().heapUsed;
  const next = seededRandom(seed);
  const outcomes = new Map<string, number>();
  let slowestMs = 0;
  for (let index = 0; index < cases; index++) {
    let text = corpus[Math.floor(next() * corpus.length)];
    const mutations = 1 + Math.floor(next() * 3);
    const structural = next() < 0.6;
    for (let count = 0; count < mutations; count++) {
      text = structural ? mutateTree(text, corpus, next) : mutate(text, corpus, next);
    }
    const started = performance.now();
    let outcome: string;
    try {
      outcome = exercise(text);
    } catch (error) {
      throw new Error(`case ${index} (seed ${seed}) failed: ${(error as Error).message}\n${text}`, {
        cause: error,
      });
    }
    const elapsedMs = performance.now() - started;
    slowestMs = Math.max(slowestMs, elapsedMs);
    assert.ok(elapsedMs < CASE_TIME_MAX_MS, `case ${index} (seed ${seed}) took ${elapsedMs} ms`);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  const heapGrowth = Deno.memoryUsage().heapUsed - heapBefore;
  console.log(
    `fuzz: ${cases} cases, seed ${seed}, slowest ${slowestMs.toFixed(1)} ms, heap +${
      (heapGrowth / 2 ** 20).toFixed(0)
    } MiB; ` +
      [...outcomes].sort().map(([outcome, count]) => `${count} ${outcome}`).join(", "),
  );
  assert.ok(heapGrowth < HEAP_GROWTH_MAX_BYTES, `heap grew by ${heapGrowth} bytes`);
});

Deno.test("parseDomainXml refuses oversized and deeply nested documents quickly", () => {
  const started = performance.now();
  const big = `<domain type='qemu'><name>${"x".repeat(4 * 1024 * 1024)}</name></domain>`;
  assert.throws(() => parseDomainXml(big), (error: unknown) => isVirtError(error, 27));
  const deep = "<domain>" + "<a>".repeat(1_000_000) + "</a>".repeat(1_000_000) + "</domain>";
  assert.throws(
    () => parseDomainXml(deep, { maxBytes: 16 * 1024 * 1024 }),
    /deeper than 256 levels/,
  );
  assert.ok(performance.now() - started < CASE_TIME_MAX_MS);
});

/** Repeats `unit(i)` inside `<devices>` (or where `place` puts it) to about 1 MiB. */
function repeated(
  unit: (index: number) => string,
  place: "devices" | "domain" | "cputune" | "numa" = "devices",
): string {
  const parts: string[] = [];
  let size = 0;
  for (let index = 0; size < 1024 * 1024; index++) {
    const part = unit(index);
    parts.push(part);
    size += part.length;
  }
  const body = parts.join("");
  const inside = (name: string) => (place === name ? body : "");
  return `<domain type='qemu'><name>h</name><memory>1024</memory><vcpu>16384</vcpu>` +
    `<cputune>${inside("cputune")}</cputune><os><type>hvm</type></os>` +
    `<cpu><numa>${inside("numa")}</numa></cpu>${inside("domain")}<devices>${
      inside("devices")
    }</devices></domain>`;
}

const HOSTILE: [string, string][] = [
  ["unknown elements", repeated(() => "<foo/>")],
  ["controllers without index", repeated(() => "<controller type='pci' model='pcie-root-port'/>")],
  [
    "host devices",
    repeated((index) =>
      `<hostdev mode='subsystem' type='usb'><source><address bus='1' device='${index}'/></source></hostdev>`
    ),
  ],
  [
    "disks",
    repeated((index) => `<disk type='file'><source file='/d'/><target dev='vd${index}'/></disk>`),
  ],
  ["interfaces without MAC", repeated(() => "<interface type='user'/>")],
  ["duplicate single elements", repeated(() => "<on_crash>destroy</on_crash>", "domain")],
  [
    "whole-range NUMA cells",
    repeated((index) => `<cell id='${index}' cpus='0-16383' memory='1'/>`, "numa"),
  ],
  [
    "whole-range schedulers",
    repeated(() => "<vcpusched vcpus='0-16383' scheduler='idle'/>", "cputune"),
  ],
  [
    "whole-range cache monitors",
    repeated(() => "<cachetune vcpus='0-16383'><monitor vcpus='0-16383'/></cachetune>", "cputune"),
  ],
  [
    "USB ports behind missing hubs",
    repeated((index) =>
      `<input type='tablet' bus='usb'><address type='usb' bus='0' port='1.${index}'/></input>`
    ),
  ],
];

for (const [name, text] of HOSTILE) {
  Deno.test(`domain XML path stays bounded on a document full of ${name}`, () => {
    const started = performance.now();
    const outcome = exercise(text);
    const elapsedMs = performance.now() - started;
    console.log(
      `hostile ${name}: ${(text.length / 2 ** 20).toFixed(1)} MiB, ${outcome}, ${
        elapsedMs.toFixed(0)
      } ms`,
    );
    assert.ok(elapsedMs < CASE_TIME_MAX_MS, `${elapsedMs} ms`);
  });
}
