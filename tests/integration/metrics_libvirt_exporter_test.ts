/**
 * evirt's `/metrics` against Debian's `prometheus-libvirt-exporter` reading libvirtd 9.0: the same
 * test guest (one disk) runs under both; every family the exporter writes for it is in evirt's
 * exposition with the same type and the same label names, and the disk's target device matches.
 * Skipped, counted, when libvirtd, QEMU, the exporter or the test guest is absent.
 *
 * @module
 */

import { guestDomainXml } from "../support/guest_xml.ts";
import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestInitrdPath,
  guestKernelPath,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import { LIBVIRTD_SOCKET, LIBVIRTD_URI, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { type ParsedFamily, parsePrometheusText } from "../support/prometheus_text.ts";

const EXPORTER = "prometheus-libvirt-exporter";
const skip = missing("virsh", LIBVIRTD_SOCKET, "qemu-system-x86_64", EXPORTER) ??
  guestSkipReason();

/** Longest wait for the exporter to answer, or for evirt's first statistics sample, in ms. */
const READY_TIMEOUT_MS = 15_000;
const POLL_MS = 100;

function guestXml(name: string, dir: string, side: string): string {
  return guestDomainXml({
    name,
    dir,
    disk: { path: `${dir}/${side}.img`, format: "raw" },
    serial: { path: `${dir}/${side}-serial.log` },
  });
}

/** A free TCP port on the loopback address. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Polls `read` until it gives a value, at most {@linkcode READY_TIMEOUT_MS}. */
async function poll<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * The exporter's families to compare: the host-wide `libvirt_*` and `process_*` ones, and those
 * with a sample of `domain` (libvirtd may run other guests). Go's runtime families (`go_*`,
 * `promhttp_*`) describe the exporter's own language and are not evirt's.
 */
function familiesOf(families: Map<string, ParsedFamily>, domain: string): ParsedFamily[] {
  return [...families.values()].filter((family) =>
    family.name.startsWith("process_") ||
    (family.name.startsWith("libvirt_") &&
      family.samples.every((sample) => sample.labels.domain === undefined)) ||
    family.samples.some((sample) => sample.labels.domain === domain)
  );
}

testIf(
  "evirt's /metrics has every family, type and label name prometheus-libvirt-exporter writes for the same guest",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
    Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
    for (const side of ["libvirtd", "evirt"]) {
      Deno.writeFileSync(`${dir}/${side}.img`, new Uint8Array(0));
      Deno.truncateSync(`${dir}/${side}.img`, 8 * 1024 * 1024);
    }
    const theirName = `${ORACLE_PREFIX}metrics-${crypto.randomUUID().slice(0, 8)}`;
    const ourName = "metrics";
    Deno.writeTextFileSync(`${dir}/libvirtd.xml`, guestXml(theirName, dir, "libvirtd"));
    const service = await startServiceProcess(dirs);
    const port = freePort();
    const exporter = new Deno.Command(EXPORTER, {
      args: [`--web.listen-address=127.0.0.1:${port}`, `--libvirt.uri=${LIBVIRTD_URI}`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const created = await oracleVirsh(["create", `${dir}/libvirtd.xml`]);
      assert.equal(created.code, 0, created.stderr);
      await service.client.define({ xml: guestXml(ourName, dir, "evirt") });
      await service.client.action(ourName, "start");
      await waitForSerialMarker(`${dir}/libvirtd-serial.log`, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      await waitForSerialMarker(`${dir}/evirt-serial.log`, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      const theirs = familiesOf(
        await poll("the exporter", async () => {
          const response = await fetch(`http://127.0.0.1:${port}/metrics`);
          const text = await response.text();
          return response.ok ? parsePrometheusText(text) : undefined;
        }),
        theirName,
      );
      const ours = await poll("evirt's block statistics", async () => {
        const families = parsePrometheusText(await service.client.metrics());
        const block = families.get("libvirt_domain_block_stats_read_bytes_total");
        return block?.samples.some((sample) => sample.labels.domain === ourName)
          ? families
          : undefined;
      });
      assert.ok(theirs.length > 5, `the exporter wrote ${theirs.length} families for the guest`);
      for (const family of theirs) {
        const mine = ours.get(family.name);
        assert.ok(mine, `evirt lacks ${family.name}`);
        assert.equal(mine.type, family.type, family.name);
        const labelSets = (each: ParsedFamily, domain: string) =>
          new Set(
            each.samples.filter((sample) =>
              sample.labels.domain === undefined || sample.labels.domain === domain
            ).map((sample) => Object.keys(sample.labels).sort().join(",")),
          );
        assert.deepEqual(labelSets(mine, ourName), labelSets(family, theirName), family.name);
      }
      const devices = (families: ParsedFamily | undefined, domain: string) =>
        families?.samples.filter((sample) => sample.labels.domain === domain)
          .map((sample) => sample.labels.target_device);
      const readBytes = "libvirt_domain_block_stats_read_bytes_total";
      assert.deepEqual(
        devices(ours.get(readBytes), ourName),
        devices(theirs.find((family) => family.name === readBytes), theirName),
      );
    } finally {
      exporter.kill("SIGTERM");
      await exporter.status;
      await oracleVirsh(["destroy", theirName]);
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
