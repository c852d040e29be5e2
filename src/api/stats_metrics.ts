/**
 * Prometheus series of the running domains' statistics, from the same projection as `domstats`
 * (so a scrape never queries a monitor and never touches storage). Label values are domain names,
 * disk targets, interface names and vCPU numbers: they come from definitions and drivers, one
 * set per device, so the label sets stay bounded.
 *
 * @module
 */

import type { DomainStatsRecord, StatsReader } from "../projections/stats_reader.ts";

/** One family: its name, type, help, and how a stats key maps to a sample of it. */
interface Family {
  name: string;
  type: "counter" | "gauge";
  help: string;
  /** The stats key pattern; `N` stands for a device index. */
  key: RegExp;
  /** The device label, when the key names a device. */
  device?: "disk" | "interface" | "vcpu";
  /** The stats value's unit, converted to the metric's base unit (ns → s, KiB → bytes). */
  unit: Unit;
}

/** Units of stats values: nanoseconds, KiB, or already the metric's unit. */
type Unit = "ns" | "KiB" | "same";
const NS: Unit = "ns";
const KIB: Unit = "KiB";

const FAMILIES: readonly Family[] = [
  counter("evirt_domain_cpu_seconds_total", "CPU time of the domain.", /^cpu\.time$/, NS),
  counter("evirt_domain_cpu_user_seconds_total", "CPU time in user mode.", /^cpu\.user$/, NS),
  counter("evirt_domain_cpu_system_seconds_total", "CPU time in kernel mode.", /^cpu\.system$/, NS),
  gauge("evirt_domain_balloon_current_bytes", "Memory the guest has.", /^balloon\.current$/, KIB),
  gauge(
    "evirt_domain_balloon_maximum_bytes",
    "Memory the guest may have.",
    /^balloon\.maximum$/,
    KIB,
  ),
  gauge(
    "evirt_domain_memory_rss_bytes",
    "Resident memory of the hypervisor process.",
    /^balloon\.rss$/,
    KIB,
  ),
  {
    ...counter("evirt_domain_vcpu_seconds_total", "CPU time of a vCPU.", /^vcpu\.(\d+)\.time$/, NS),
    device: "vcpu",
  },
  {
    ...counter(
      "evirt_domain_vcpu_wait_seconds_total",
      "Time a vCPU waited for a host CPU.",
      /^vcpu\.(\d+)\.wait$/,
      NS,
    ),
    device: "vcpu",
  },
  ...netFamilies(),
  ...blockFamilies(),
];

function counter(name: string, help: string, key: RegExp, unit: Unit = "same"): Family {
  return { name, type: "counter", help, key, unit };
}

function gauge(name: string, help: string, key: RegExp, unit: Unit = "same"): Family {
  return { name, type: "gauge", help, key, unit };
}

/** A stats value in the metric's base unit (seconds, bytes). */
function inBaseUnit(value: number, unit: Unit): number {
  if (unit === "ns") return value / 1e9;
  if (unit === "KiB") return value * 1024;
  return value;
}

function netFamilies(): Family[] {
  const directions: [string, string][] = [["rx", "receive"], ["tx", "transmit"]];
  const counters: [string, string][] = [
    ["bytes", "bytes"],
    ["pkts", "packets"],
    ["errs", "errors"],
    ["drop", "drops"],
  ];
  return directions.flatMap(([direction, name]) =>
    counters.map(([key, unit]) => ({
      ...counter(
        `evirt_domain_interface_${name}_${unit}_total`,
        `Interface ${name} ${unit}, in the guest's view.`,
        new RegExp(`^net\\.(\\d+)\\.${direction}\\.${key}$`),
      ),
      device: "interface" as const,
    }))
  );
}

function blockFamilies(): Family[] {
  const disk = (family: Family): Family => ({ ...family, device: "disk" });
  return [
    disk(
      counter(
        "evirt_domain_block_read_requests_total",
        "Read requests.",
        /^block\.(\d+)\.rd\.reqs$/,
      ),
    ),
    disk(
      counter("evirt_domain_block_read_bytes_total", "Bytes read.", /^block\.(\d+)\.rd\.bytes$/),
    ),
    disk(
      counter(
        "evirt_domain_block_read_seconds_total",
        "Time spent reading.",
        /^block\.(\d+)\.rd\.times$/,
        NS,
      ),
    ),
    disk(
      counter(
        "evirt_domain_block_write_requests_total",
        "Write requests.",
        /^block\.(\d+)\.wr\.reqs$/,
      ),
    ),
    disk(
      counter(
        "evirt_domain_block_write_bytes_total",
        "Bytes written.",
        /^block\.(\d+)\.wr\.bytes$/,
      ),
    ),
    disk(
      counter(
        "evirt_domain_block_write_seconds_total",
        "Time spent writing.",
        /^block\.(\d+)\.wr\.times$/,
        NS,
      ),
    ),
    disk(
      counter(
        "evirt_domain_block_flush_requests_total",
        "Flush requests.",
        /^block\.(\d+)\.fl\.reqs$/,
      ),
    ),
    disk(
      counter(
        "evirt_domain_block_flush_seconds_total",
        "Time spent flushing.",
        /^block\.(\d+)\.fl\.times$/,
        NS,
      ),
    ),
    disk(
      gauge(
        "evirt_domain_block_allocation_bytes",
        "Highest offset written (domstats allocation).",
        /^block\.(\d+)\.allocation$/,
      ),
    ),
    disk(
      gauge(
        "evirt_domain_block_capacity_bytes",
        "Size the guest sees.",
        /^block\.(\d+)\.capacity$/,
      ),
    ),
    disk(
      gauge(
        "evirt_domain_block_physical_bytes",
        "Host storage of the image (domstats physical).",
        /^block\.(\d+)\.physical$/,
      ),
    ),
  ];
}

/**
 * The statistics series of every running domain, in the Prometheus text format.
 *
 * @param reader The stats reader of the service's host.
 * @returns The exposition text (families with no sample are still described).
 *
 * @example
 * ```ts ignore
 * const text = await renderStatsMetrics(new StatsReader(host));
 * // evirt_domain_block_allocation_bytes{domain="web",disk="vda"} 106954752
 * ```
 */
export async function renderStatsMetrics(reader: StatsReader): Promise<string> {
  return renderStatsRecords(await metricsRecords(reader));
}

/**
 * The statistics records a scrape shows: the running domains', from the samples held (never
 * waiting for a monitor).
 */
export function metricsRecords(reader: StatsReader): Promise<DomainStatsRecord[]> {
  return reader.domainStats({ filter: { active: true }, nowait: true });
}

/**
 * The statistics series of `records`, in the Prometheus text format.
 *
 * @example
 * ```ts ignore
 * const text = renderStatsRecords(await metricsRecords(new StatsReader(host)));
 * ```
 */
export function renderStatsRecords(records: readonly DomainStatsRecord[]): string {
  const lines: string[] = [];
  lines.push(
    "# HELP evirt_domain_sample_age_seconds Age of the samples behind a domain's statistics.",
    "# TYPE evirt_domain_sample_age_seconds gauge",
  );
  for (const record of records) {
    if (record.sampleAgeMs === null) continue;
    lines.push(
      `evirt_domain_sample_age_seconds{${labels({ domain: record.name })}} ${
        record.sampleAgeMs / 1000
      }`,
    );
  }
  lines.push(
    "# HELP evirt_domain_samples_stale Whether a domain's last sampling failed (1) or not (0).",
    "# TYPE evirt_domain_samples_stale gauge",
  );
  for (const record of records) {
    lines.push(
      `evirt_domain_samples_stale{${labels({ domain: record.name })}} ${record.stale ? 1 : 0}`,
    );
  }
  for (const family of FAMILIES) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const record of records) lines.push(...samplesOf(family, record));
  }
  return lines.join("\n") + "\n";
}

function samplesOf(family: Family, record: DomainStatsRecord): string[] {
  const names = new Map<string, string>();
  for (const { key, value } of record.stats) {
    const named = /^(block|net)\.(\d+)\.name$/.exec(key);
    if (named !== null && typeof value === "string") names.set(`${named[1]}.${named[2]}`, value);
  }
  const lines: string[] = [];
  for (const { key, value } of record.stats) {
    const match = family.key.exec(key);
    if (match === null || typeof value !== "number") continue;
    const set: Record<string, string> = { domain: record.name };
    if (family.device === "vcpu") set.vcpu = match[1];
    if (family.device === "disk") set.disk = names.get(`block.${match[1]}`) ?? match[1];
    if (family.device === "interface") set.interface = names.get(`net.${match[1]}`) ?? match[1];
    lines.push(`${family.name}{${labels(set)}} ${inBaseUnit(value, family.unit)}`);
  }
  return lines;
}

/** Label pairs with values escaped as the text format requires. */
function labels(set: Record<string, string>): string {
  return Object.entries(set).map(([name, value]) =>
    `${name}="${value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"')}"`
  ).join(",");
}
