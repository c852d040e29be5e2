/**
 * Native-format conversion throughput on libvirt's corpora (under `../shared/corpus/libvirt`, or
 * `EVIRT_SHARED_DIR`), each beside a same-run baseline: parse + format of the same domain XML
 * alone.
 *
 * As a script (`deno run -A bench/native_formats_bench.ts`) it prints conversions/s on one core:
 * - `vmware-vmx`, `.vmx` → XML (`vmx2xmldata`: read, convert, format), against parse + format of
 *   the XML libvirt gives for the same files; XML → `.vmx` (`xml2vmxdata`: parse, convert);
 * - `bhyve-argv`, XML → command lines (`bhyvexml2argvdata`: parse, complete, build, write) and
 *   command lines → XML (`bhyveargv2xmldata`: read, format), against parse + format of the
 *   corpus XML;
 * - `xen-xl` and `xen-xm`, `xl.cfg`/`xm` → XML and XML → `xl.cfg`/`xm` (`xlconfigdata`,
 *   `xmconfigdata`: the cases that convert both ways), against parse + format of the XML of the
 *   same case.
 * Each figure is the best of three passes alternating with its baseline (the machine may be
 * shared); `EVIRT_BENCH_NATIVE_ROUNDS` sets how many times a pass runs the corpus (default 200).
 *
 * Under `deno bench` it registers the same steps, one file per iteration, each direction a
 * group with its baseline first.
 *
 * @module
 */

import { itemsPerSecond } from "./_figures.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { bhyveArgvToDomain, bhyveToNative } from "../drivers/bhyve/mod.ts";
import { domainToVmx, vmxToDomain } from "../drivers/vmware/mod.ts";
import { xlToDefinition } from "../drivers/xen/xl_parse.ts";
import { definitionToXl } from "../drivers/xen/xl_format.ts";
import { xmToDefinition } from "../drivers/xen/xm_parse.ts";
import { definitionToXm } from "../drivers/xen/xm_format.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import { formatDomainXml, parseDomainXml } from "../src/xml/mod.ts";

const ROUNDS_DEFAULT = 200;
/** Alternating measurements of each step; the best one counts. */
const PASSES = 3;

const sharedFolder = Deno.env.get("EVIRT_SHARED_DIR") ||
  new URL("../../shared", import.meta.url).pathname;
const corpusFolder = `${sharedFolder}/corpus/libvirt`;

/** The texts of `folder/*suffix` with a sibling `*pair`, sorted; empty when there is no corpus. */
function load(folder: string, suffix: string, pair: string): [string, string][] {
  try {
    const names = [...Deno.readDirSync(`${corpusFolder}/${folder}`)].map((entry) => entry.name);
    return names.filter((name) => name.endsWith(suffix)).sort().flatMap((name) => {
      const base = `${corpusFolder}/${folder}/${name.slice(0, -suffix.length)}`;
      try {
        return [[
          Deno.readTextFileSync(`${base}${suffix}`),
          Deno.readTextFileSync(`${base}${pair}`),
        ]];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** One group: a conversion and its baseline, each taking one corpus document. */
interface Group {
  name: string;
  inputs: string[];
  baseline: [string, (text: string) => unknown];
  conversion: [string, (text: string) => unknown];
}

/** The two groups of a Xen dialect: its cases that convert both ways, each direction. */
function xenGroups(
  format: string,
  folder: string,
  read: (text: string) => DomainDefinition,
  write: (definition: DomainDefinition) => string,
): Group[] {
  const pairs = load(folder, ".cfg", ".xml").filter(([cfg, xml]) => {
    try {
      read(cfg);
      write(parseDomainXml(xml));
      return true;
    } catch {
      return false;
    }
  });
  const xmlOf = new Map(pairs);
  const parseFormat = (text: string) => formatDomainXml(parseDomainXml(text));
  return [
    {
      name: `${format} → XML`,
      inputs: pairs.map(([cfg]) => cfg),
      baseline: ["baseline: parse + format of the same XML", (cfg) => parseFormat(xmlOf.get(cfg)!)],
      conversion: [`${format} → definition → XML`, (cfg) => formatDomainXml(read(cfg))],
    },
    {
      name: `XML → ${format}`,
      inputs: pairs.map(([, xml]) => xml),
      baseline: ["baseline: parse + format of the same XML", parseFormat],
      conversion: [`XML → definition → ${format}`, (xml) => write(parseDomainXml(xml))],
    },
  ];
}

function groups(): Group[] {
  const vmx2xml = load("vmx2xmldata", ".vmx", ".xml");
  const xml2vmx = load("xml2vmxdata", ".xml", ".vmx").map(([xml, vmx]) => {
    const version = Number(/^virtualHW\.version = "([0-9]+)"$/m.exec(vmx)?.[1] ?? 4);
    return { xml, version };
  });
  const versions = new Map(xml2vmx.map(({ xml, version }) => [xml, version]));
  const parseFormat = (text: string) => formatDomainXml(parseDomainXml(text));
  // libvirt's XML for each native file: the baseline parses and formats what the conversion gives.
  const expectedXml = new Map(vmx2xml);
  const argv2xml = load("bhyveargv2xmldata", ".args", ".xml");
  const argvXml = new Map(argv2xml);
  // The definitions bhyve takes with every binary feature (the corpus also holds refusals).
  const xml2argv = load("bhyvexml2argvdata", ".xml", ".args").map(([xml]) => xml).filter((xml) => {
    try {
      bhyveToNative(parseDomainXml(xml));
      return true;
    } catch {
      return false;
    }
  });
  return [
    {
      name: ".vmx → XML",
      inputs: vmx2xml.map(([vmx]) => vmx),
      baseline: [
        "baseline: parse + format of the same XML",
        (vmx) => parseFormat(expectedXml.get(vmx)!),
      ],
      conversion: [".vmx → definition → XML", (vmx) => formatDomainXml(vmxToDomain(vmx))],
    },
    {
      name: "XML → .vmx",
      inputs: xml2vmx.map(({ xml }) => xml),
      baseline: ["baseline: parse + format of the same XML", parseFormat],
      conversion: ["XML → definition → .vmx", (xml) =>
        domainToVmx(parseDomainXml(xml), {
          hardwareVersion: versions.get(xml)!,
          autodetectScsiModel: () => "lsilogic",
        })],
    },
    {
      name: "bhyve XML → command lines",
      inputs: xml2argv,
      baseline: ["baseline: parse + format of the same XML", parseFormat],
      conversion: [
        "XML → definition → bhyve, loader lines",
        (xml) => bhyveToNative(parseDomainXml(xml)),
      ],
    },
    {
      name: "bhyve command lines → XML",
      inputs: argv2xml.map(([args]) => args),
      baseline: [
        "baseline: parse + format of the same XML",
        (args) => parseFormat(argvXml.get(args)!),
      ],
      conversion: ["lines → definition → XML", (args) => formatDomainXml(bhyveArgvToDomain(args))],
    },
    ...xenGroups(
      "xen-xl",
      "xlconfigdata",
      xlToDefinition,
      (definition) => definitionToXl(definition),
    ),
    ...xenGroups(
      "xen-xm",
      "xmconfigdata",
      xmToDefinition,
      (definition) => definitionToXm(definition),
    ),
  ];
}

function printFigures(): void {
  const all = groups();
  if (all.every((group) => group.inputs.length === 0)) {
    console.log(`native formats bench: no corpus under ${corpusFolder}; nothing measured`);
    return;
  }
  const rounds = parsePositiveInteger(
    Deno.env.toObject(),
    "EVIRT_BENCH_NATIVE_ROUNDS",
    ROUNDS_DEFAULT,
  );
  // Warm up until the JIT has settled: a tenth of the measured rounds.
  const warmup = Math.max(1, rounds / 10);
  console.log(`native formats bench: ${rounds} rounds`);
  for (const group of all) {
    console.log(`  ${group.name} (${group.inputs.length} corpus files)`);
    // The machine is shared: alternate the two, three times, and keep each one's best pass.
    let baseline = 0;
    let rate = 0;
    for (let pass = 0; pass < PASSES; pass++) {
      baseline = Math.max(
        baseline,
        itemsPerSecond(group.inputs, rounds, group.baseline[1], warmup),
      );
      rate = Math.max(rate, itemsPerSecond(group.inputs, rounds, group.conversion[1], warmup));
    }
    for (
      const [name, value] of [[group.baseline[0], baseline], [group.conversion[0], rate]] as const
    ) {
      console.log(
        `    ${name.padEnd(44)} ${Math.round(value).toString().padStart(8)} /s  ${
          (value / baseline).toFixed(2)
        }x baseline`,
      );
    }
  }
}

if (import.meta.main) {
  printFigures();
} else {
  for (const group of groups()) {
    let next = 0;
    const document = () => group.inputs[next++ % group.inputs.length];
    for (const [name, step] of [group.baseline, group.conversion]) {
      Deno.bench({
        name,
        group: `${group.name}, one corpus file per iteration`,
        baseline: name.startsWith("baseline"),
        ignore: group.inputs.length === 0,
        fn: () => {
          step(document());
        },
      });
    }
  }
}
