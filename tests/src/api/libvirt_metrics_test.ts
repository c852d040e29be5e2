import assert from "node:assert/strict";
import { withTestCore } from "../../support/test_core.ts";
import { EvirtClient } from "../../../src/client/client.ts";
import { LIBVIRT_FAMILIES } from "../../../src/api/libvirt_metrics.ts";
import { type ParsedFamily, parsePrometheusText } from "../../support/prometheus_text.ts";
import { missing, testIf } from "../../support/environment.ts";

const WEB = `<domain type='test'>
  <name>web</name>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/images/web.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='bridge'>
      <source bridge='br0'/>
      <target dev='vnet7'/>
    </interface>
  </devices>
</domain>`;

const IDLE = `<domain type='test'>
  <name>idle</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices/>
</domain>`;

/** A service with `web` running (a disk, a bridged interface, 2 vCPUs) and `idle` shut off. */
function scrape(): Promise<string> {
  return withTestCore(async (service) => {
    const client = new EvirtClient((request) => service.api.handle(request, "read-only"));
    const writer = new EvirtClient((request) => service.api.handle(request, "read-write"));
    await writer.define({ xml: WEB });
    await writer.define({ xml: IDLE });
    await writer.action("web", "start");
    return await client.metrics();
  });
}

function family(families: Map<string, ParsedFamily>, name: string): ParsedFamily {
  const found = families.get(name);
  assert.ok(found, `family ${name} is missing`);
  return found;
}

function value(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  // The labels given, and a uuid beside them where the family has one.
  return family(families, name).samples.find((sample) =>
    Object.keys(sample.labels).filter((label) => label !== "uuid").length ===
      Object.keys(labels).length &&
    Object.entries(labels).every(([label, text]) => sample.labels[label] === text)
  )?.value;
}

Deno.test("/metrics parses strictly and has every libvirt exporter family with its type and label names", async () => {
  const families = parsePrometheusText(await scrape());
  const empty: string[] = [];
  for (const expected of LIBVIRT_FAMILIES) {
    const found = family(families, expected.name);
    assert.equal(found.type, expected.type, expected.name);
    assert.ok(found.help, `${expected.name} has a help text`);
    if (found.samples.length === 0) empty.push(expected.name);
    for (const sample of found.samples) {
      assert.deepEqual(Object.keys(sample.labels), expected.labels, expected.name);
    }
  }
  // The test hypervisor reports no I/O times and no flushes, as libvirt's test driver.
  assert.deepEqual(empty, [
    "libvirt_domain_block_stats_read_seconds_total",
    "libvirt_domain_block_stats_write_seconds_total",
    "libvirt_domain_block_stats_flush_requests_total",
    "libvirt_domain_block_stats_flush_seconds_total",
  ]);
});

Deno.test("the libvirt exporter families carry the running domain's figures and labels", async () => {
  const families = parsePrometheusText(await scrape());
  assert.equal(value(families, "libvirt_up", {}), 1);
  assert.equal(value(families, "libvirt_domain_info_virtual_cpus", { domain: "web" }), 2);
  assert.equal(
    value(families, "libvirt_domain_info_maximum_memory_bytes", { domain: "web" }),
    512 * 1024 * 1024,
  );
  assert.equal(value(families, "libvirt_domain_info_vstate", { domain: "web" }), 1);
  assert.equal(value(families, "libvirt_domain_info_vstate", { domain: "idle" }), 5);
  assert.equal(value(families, "libvirt_domain_state_code", { domain: "web" }), 1);
  assert.equal(value(families, "libvirt_domains_number", {}), 1);
  assert.match(
    family(families, "libvirt_domain_info_virtual_cpus").samples[0].labels.uuid,
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
  assert.equal(
    value(families, "libvirt_domain_info_virtual_cpus", { domain: "idle" }),
    undefined,
    "as the exporter, per-domain figures are those of running domains",
  );
  const disk = { domain: "web", source_file: "/images/web.img", target_device: "vda" };
  assert.equal(
    typeof value(families, "libvirt_domain_block_stats_read_bytes_total", disk),
    "number",
  );
  const nic = { domain: "web", source_bridge: "br0", target_device: "vnet7" };
  assert.equal(
    typeof value(families, "libvirt_domain_interface_stats_receive_bytes_total", nic),
    "number",
  );
  for (const vcpu of ["0", "1"]) {
    assert.equal(
      typeof value(families, "libvirt_domain_vcpu_time_seconds_total", { domain: "web", vcpu }),
      "number",
    );
  }
});

Deno.test("/metrics has the process families, evirt_build_info and state labels without spaces", async () => {
  const families = parsePrometheusText(await scrape());
  for (
    const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_virtual_memory_bytes",
      "process_open_fds",
      "process_max_fds",
      "process_start_time_seconds",
    ]
  ) {
    const found = family(families, name);
    assert.equal(found.samples.length, 1, name);
    assert.ok(found.samples[0].value > 0, name);
  }
  const build = family(families, "evirt_build_info").samples;
  assert.equal(build.length, 1);
  assert.deepEqual(Object.keys(build[0].labels), ["deno", "version"]);
  const states = family(families, "evirt_domains").samples.map((sample) => sample.labels.state);
  assert.ok(states.includes("shut_off"));
  for (const each of families.values()) {
    for (const sample of each.samples) {
      for (const [label, text] of Object.entries(sample.labels)) {
        if (label !== "domain" && label !== "source_file") assert.doesNotMatch(text, / /, label);
      }
    }
  }
});

testIf("promtool check metrics passes on /metrics", missing("promtool"), async () => {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(await scrape()));
  await writer.close();
  const output = await child.output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, text);
  assert.equal(text, "");
});
