/**
 * The metric families of Debian's `prometheus-libvirt-exporter` (kumina's libvirt_exporter
 * 0.2.0), with its names, types and label names, so a dashboard built on it reads evirt as is:
 * `libvirt_up`, `libvirt_domains_number`, `libvirt_domain_info_*`, `libvirt_domain_state_code`,
 * `libvirt_domain_block_stats_*`, `libvirt_domain_interface_stats_*`, each domain's series
 * labelled with its `domain` name and `uuid` as that build writes them (its Nova labels,
 * behind a flag, are not written). Where that exporter has nothing, the families of its most
 * used descendant (the libvirt-exporter of AlexZzz and Tinkoff) are added under their names: a
 * state gauge per domain (`libvirt_domain_info_vstate`), per-vCPU time, wait and state
 * (`libvirt_domain_vcpu_*`), and a disk's allocation, capacity and physical size.
 *
 * As the exporter, the per-domain series are those of running domains (it lists domains by id);
 * `libvirt_domain_info_vstate` covers every domain. The figures come from the statistics records
 * the `domstats` projection serves, so a scrape never queries a monitor.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import type { DomainStatsRecord } from "../projections/stats_reader.ts";
import type { MetricFamily, MetricSample } from "./prometheus_text.ts";

/** How one libvirt statistics key becomes a sample: its family and the factor to its unit. */
interface KeyRule {
  family: string;
  /** The key after `block.N.`, `net.N.`, `vcpu.N.` or the whole key for a domain family. */
  key: string;
  /** Multiplies the stats value: 1e-9 for ns → s, 1024 for KiB → bytes. */
  factor: number;
}

const NS_TO_S = 1e-9;
const KIB_TO_BYTES = 1024;

const DOMAIN_RULES: readonly KeyRule[] = [
  {
    family: "libvirt_domain_info_maximum_memory_bytes",
    key: "balloon.maximum",
    factor: KIB_TO_BYTES,
  },
  {
    family: "libvirt_domain_info_memory_usage_bytes",
    key: "balloon.current",
    factor: KIB_TO_BYTES,
  },
  { family: "libvirt_domain_info_virtual_cpus", key: "vcpu.current", factor: 1 },
  { family: "libvirt_domain_info_cpu_time_seconds_total", key: "cpu.time", factor: NS_TO_S },
  { family: "libvirt_domain_state_code", key: "state.state", factor: 1 },
];

const BLOCK_RULES: readonly KeyRule[] = [
  { family: "libvirt_domain_block_stats_read_bytes_total", key: "rd.bytes", factor: 1 },
  { family: "libvirt_domain_block_stats_read_requests_total", key: "rd.reqs", factor: 1 },
  { family: "libvirt_domain_block_stats_read_seconds_total", key: "rd.times", factor: NS_TO_S },
  { family: "libvirt_domain_block_stats_write_bytes_total", key: "wr.bytes", factor: 1 },
  { family: "libvirt_domain_block_stats_write_requests_total", key: "wr.reqs", factor: 1 },
  { family: "libvirt_domain_block_stats_write_seconds_total", key: "wr.times", factor: NS_TO_S },
  { family: "libvirt_domain_block_stats_flush_requests_total", key: "fl.reqs", factor: 1 },
  { family: "libvirt_domain_block_stats_flush_seconds_total", key: "fl.times", factor: NS_TO_S },
];

/** The descendant's disk size families: labelled by domain and target device only. */
const BLOCK_SIZE_RULES: readonly KeyRule[] = [
  { family: "libvirt_domain_block_stats_allocation", key: "allocation", factor: 1 },
  { family: "libvirt_domain_block_stats_capacity_bytes", key: "capacity", factor: 1 },
  { family: "libvirt_domain_block_stats_physicalsize_bytes", key: "physical", factor: 1 },
];

const INTERFACE_RULES: readonly KeyRule[] = [
  ["receive", "rx"],
  ["transmit", "tx"],
].flatMap(([direction, short]) =>
  [["bytes", "bytes"], ["packets", "pkts"], ["errors", "errs"], ["drops", "drop"]].map((
    [unit, key],
  ) => ({
    family: `libvirt_domain_interface_stats_${direction}_${unit}_total`,
    key: `${short}.${key}`,
    factor: 1,
  }))
);

const VCPU_RULES: readonly KeyRule[] = [
  { family: "libvirt_domain_vcpu_time_seconds_total", key: "time", factor: NS_TO_S },
  { family: "libvirt_domain_vcpu_wait_seconds_total", key: "wait", factor: NS_TO_S },
  { family: "libvirt_domain_vcpu_state", key: "state", factor: 1 },
];

/** Every family this module writes: name, type, help and label names (sorted, as Go writes them). */
export const LIBVIRT_FAMILIES: readonly {
  name: string;
  type: "counter" | "gauge";
  help: string;
  labels: readonly string[];
}[] = [
  {
    name: "libvirt_up",
    type: "gauge",
    help: "Whether scraping libvirt's metrics was successful.",
    labels: [],
  },
  {
    name: "libvirt_domains_number",
    type: "gauge",
    help: "Number of domains.",
    labels: [],
  },
  ...[
    [
      "libvirt_domain_info_maximum_memory_bytes",
      "gauge",
      "Maximum allowed memory of the domain, in bytes.",
    ],
    ["libvirt_domain_info_memory_usage_bytes", "gauge", "Memory usage of the domain, in bytes."],
    ["libvirt_domain_info_virtual_cpus", "gauge", "Number of virtual CPUs for the domain."],
    [
      "libvirt_domain_info_cpu_time_seconds_total",
      "counter",
      "Amount of CPU time used by the domain, in seconds.",
    ],
    ["libvirt_domain_state_code", "gauge", "State of the domain."],
  ].map(([name, type, help]) => ({
    name,
    type: type as "counter" | "gauge",
    help,
    labels: ["domain", "uuid"],
  })),
  {
    name: "libvirt_domain_info_vstate",
    type: "gauge",
    help: "Virtual domain state (libvirt's virDomainState): 0 no state, 1 running, 2 blocked, " +
      "3 paused, 4 being shut down, 5 shut off, 6 crashed, 7 suspended by guest power management.",
    labels: ["domain"],
  },
  ...BLOCK_RULES.map((rule) => ({
    name: rule.family,
    type: "counter" as const,
    help: blockHelp(rule.key),
    labels: ["domain", "source_file", "target_device", "uuid"],
  })),
  ...BLOCK_SIZE_RULES.map((rule) => ({
    name: rule.family,
    type: "gauge" as const,
    help: {
      allocation: "Offset of the highest written sector on a block device, in bytes.",
      capacity: "Logical size of the block device's backing image, in bytes.",
      physical: "Physical size of the container of the backing image, in bytes.",
    }[rule.key]!,
    labels: ["domain", "target_device"],
  })),
  ...INTERFACE_RULES.map((rule) => ({
    name: rule.family,
    type: "counter" as const,
    help: interfaceHelp(rule.family),
    labels: ["domain", "source_bridge", "target_device", "uuid"],
  })),
  ...VCPU_RULES.map((rule) => ({
    name: rule.family,
    type: rule.key === "state" ? "gauge" as const : "counter" as const,
    help: {
      time: "Amount of CPU time used by the domain's vCPU, in seconds.",
      wait: "Time the vCPU waited for a host CPU, in seconds.",
      state: "vCPU state: 0 offline, 1 running, 2 blocked.",
    }[rule.key]!,
    labels: ["domain", "vcpu"],
  })),
];

function interfaceHelp(family: string): string {
  const [, direction, unit] = /^libvirt_domain_interface_stats_(receive|transmit)_(\w+)_total$/
    .exec(family)!;
  const done = direction === "receive" ? "received" : "transmitted";
  if (unit === "bytes") return `Number of bytes ${done} on a network interface, in bytes.`;
  if (unit === "packets") return `Number of packets ${done} on a network interface.`;
  return `Number of packet ${direction} ${unit} on a network interface.`;
}

function blockHelp(key: string): string {
  const [operation, figure] = key.split(".");
  const verb = { rd: "reading from", wr: "writing to", fl: "flushing" }[operation]!;
  if (figure === "bytes") {
    return `Number of bytes ${
      operation === "rd" ? "read from" : "written to"
    } a block device, in bytes.`;
  }
  if (figure === "reqs") {
    return `Number of ${
      { rd: "read", wr: "write", fl: "flush" }[operation]
    } requests of a block device.`;
  }
  return `Amount of time spent ${verb} a block device, in seconds.`;
}

/**
 * The exporter's families for the host's domains.
 *
 * @param host The host (for every domain's state and the interfaces' bridges).
 * @param records The statistics records of the running domains (`domstats` of active domains).
 * @returns The families of {@linkcode LIBVIRT_FAMILIES}, in that order.
 *
 * @example
 * ```ts ignore
 * const records = await new StatsReader(host).domainStats({ filter: { active: true }, nowait: true });
 * console.log(renderFamilies(libvirtFamilies(host, records)));
 * // libvirt_domain_block_stats_read_bytes_total{domain="web",source_file="/images/a.img",target_device="vda"} 0
 * ```
 */
export function libvirtFamilies(
  host: Host,
  records: readonly DomainStatsRecord[],
): MetricFamily[] {
  const samples = new Map<string, MetricSample[]>(
    LIBVIRT_FAMILIES.map((family) => [family.name, []]),
  );
  const add = (family: string, labels: Record<string, string>, value: number) =>
    samples.get(family)!.push({ labels, value });
  add("libvirt_up", {}, 1);
  add("libvirt_domains_number", {}, records.length);
  for (const summary of host.list()) {
    add("libvirt_domain_info_vstate", { domain: summary.name }, summary.state);
  }
  for (const record of records) addRecord(host, record, add);
  return LIBVIRT_FAMILIES.map((family) => ({
    name: family.name,
    type: family.type,
    help: family.help,
    samples: samples.get(family.name)!,
  }));
}

function addRecord(
  host: Host,
  record: DomainStatsRecord,
  add: (family: string, labels: Record<string, string>, value: number) => void,
): void {
  const domain = record.name;
  const uuid = record.uuid;
  const values = new Map<string, number | string>();
  for (const { key, value } of record.stats) {
    if (typeof value === "number" || typeof value === "string") values.set(key, value);
  }
  const number = (key: string) => {
    const value = values.get(key);
    return typeof value === "number" ? value : undefined;
  };
  const text = (key: string) => {
    const value = values.get(key);
    return typeof value === "string" ? value : undefined;
  };
  for (const rule of DOMAIN_RULES) {
    const value = number(rule.key);
    if (value !== undefined) add(rule.family, { domain, uuid }, value * rule.factor);
  }
  const bridges = interfaceBridges(host, record.uuid);
  const count = (prefix: string) => number(`${prefix}.count`) ?? 0;
  for (let index = 0; index < count("block"); index++) {
    const device = text(`block.${index}.name`);
    if (device === undefined) continue;
    const sourceFile = text(`block.${index}.path`) ?? "";
    for (const rule of BLOCK_RULES) {
      const value = number(`block.${index}.${rule.key}`);
      if (value === undefined) continue;
      add(
        rule.family,
        { domain, source_file: sourceFile, target_device: device, uuid },
        value * rule.factor,
      );
    }
    for (const rule of BLOCK_SIZE_RULES) {
      const value = number(`block.${index}.${rule.key}`);
      if (value !== undefined) add(rule.family, { domain, target_device: device }, value);
    }
  }
  for (let index = 0; index < count("net"); index++) {
    const device = text(`net.${index}.name`);
    if (device === undefined) continue;
    const labels = {
      domain,
      source_bridge: bridges.get(device) ?? "",
      target_device: device,
      uuid,
    };
    for (const rule of INTERFACE_RULES) {
      const value = number(`net.${index}.${rule.key}`);
      if (value !== undefined) add(rule.family, labels, value);
    }
  }
  const vcpus = number("vcpu.maximum") ?? number("vcpu.current") ?? 0;
  for (let index = 0; index < vcpus; index++) {
    for (const rule of VCPU_RULES) {
      const value = number(`vcpu.${index}.${rule.key}`);
      if (value !== undefined) {
        add(rule.family, { domain, vcpu: String(index) }, value * rule.factor);
      }
    }
  }
}

/** The live definition's interfaces: host device → `<source bridge>` (empty when none). */
function interfaceBridges(host: Host, uuid: string): Map<string, string> {
  const bridges = new Map<string, string>();
  let interfaces;
  try {
    interfaces = host.inspect(uuid).definition.devices.interfaces;
  } catch {
    // Undefined between the sample and now: its series are still written, without bridges.
    return bridges;
  }
  for (const each of interfaces) {
    if (each.target?.dev) bridges.set(each.target.dev, each.source?.bridge ?? "");
  }
  return bridges;
}
