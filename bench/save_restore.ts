/**
 * Save and restore of the test guest with 256 MiB of RAM, evirt beside the floors measured in the
 * same run on the same disk:
 *
 * - evirt `save` (paused, stream to a libvirt-layout image, synced, instance ended; facts durable
 *   in a SQLite log) and `restore` (new QEMU, stream fed, running (restored));
 * - bare QEMU: the same guest under a QEMU this script starts (no sandbox), `stop` and `migrate`
 *   to `exec:cat > FILE`, then a new QEMU with `-incoming exec:cat FILE` until it is ready;
 * - `dd` of as many bytes as evirt's image to the same folder (`conv=fsync`): the disk's floor;
 * - libvirtd 9.0's `virsh save` / `virsh restore` of the same guest when it answers on
 *   `qemu:///system`.
 *
 * Each figure is a time and MB/s of the image's bytes. Usage: `deno run -A bench/save_restore.ts`;
 * `EVIRT_BENCH_ITERATIONS` (default 3) rounds. Every QEMU started is killed by pid before the
 * script ends. Needs the test guest (`tests/fixtures/build_guest.sh`).
 *
 * One run here (2 shared cores, TCG, median of 3, a 67 MB image): evirt save 824 ms (81 MB/s),
 * bare 878 ms, dd 186 ms (359 MB/s), libvirtd 1284 ms; restore evirt 1576 ms, bare 1781 ms
 * (a new QEMU included in both), libvirtd 5919 ms.
 *
 * @module
 */

import { median } from "./_figures.ts";
import { Host } from "../actors/host.ts";
import { QemuDriver } from "../drivers/qemu/qemu_driver.ts";
import { QmpMonitor } from "../drivers/qemu/qmp_monitor.ts";
import { openSqliteStore } from "../src/log/sqlite_store.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_KERNEL_CMDLINE_DEFAULT,
  GUEST_READY_MARKER,
  guestInitrdPath,
  guestKernelPath,
  waitForSerialMarker,
} from "../tests/support/guest.ts";
import {
  benchGuestDefinition,
  GUEST_MIB,
  killPid,
  startBareQemu,
  withBenchGuest,
} from "./_bench_guest.ts";

/** Bound on any one wait, in milliseconds. */
const WAIT_TIMEOUT_MS = 60_000;
const MB = 1_000_000;

interface Figure {
  ms: number[];
  bytes: number;
}

function rate(figure: Figure): string {
  const ms = median(figure.ms);
  return `${ms.toFixed(0)} ms, ${(figure.bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;
}

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/** evirt: save and restore through the host actor, a SQLite log on the same disk. */
async function evirtRounds(
  dir: string,
  rounds: number,
): Promise<{ save: Figure; restore: Figure }> {
  const driver = await QemuDriver.create({
    runtimeDir: `${dir}/run`,
    logDir: `${dir}/log`,
    log: () => {},
  });
  const host = await Host.open({
    store: await openSqliteStore(`${dir}/state`),
    drivers: [driver],
    log: () => {},
  });
  const pids = new Set<number>();
  host.onApplied((_uuid, applied) => {
    for (const { fact } of applied) {
      if (fact.type === "domain.launched" && typeof fact.body.runtime.pid === "number") {
        pids.add(fact.body.runtime.pid);
      }
    }
  });
  const serial = `${dir}/evirt-serial.log`;
  const definition = benchGuestDefinition("bench", serial);
  const image = `${dir}/evirt.save`;
  const save: Figure = { ms: [], bytes: 0 };
  const restore: Figure = { ms: [], bytes: 0 };
  try {
    await host.define(definition);
    await host.start("bench");
    await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
    for (let round = 0; round < rounds; round++) {
      save.ms.push(await timed(() => host.command("save", "bench", { path: image })));
      save.bytes = restore.bytes = Deno.statSync(image).size;
      restore.ms.push(await timed(() => host.restore(image)));
      Deno.removeSync(image);
    }
  } finally {
    await host.destroy("bench").catch(() => {});
    await host.close();
    for (const pid of pids) await killPid(pid, WAIT_TIMEOUT_MS);
  }
  return { save, restore };
}

/** A bare QEMU of the guest; `incoming` makes it wait for a stream. */
async function bareQemu(dir: string, name: string, incoming?: string) {
  const serial = `${dir}/${name}-serial.log`;
  const qemu = await startBareQemu(dir, name, serial, incoming === undefined ? {} : { incoming });
  return { ...qemu, serial };
}

async function waitMigration(monitor: QmpMonitor, incoming: boolean): Promise<void> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (incoming) {
      const status = await monitor.execute<{ status: string }>("query-status", undefined);
      if (status.status !== "inmigrate") return;
    } else {
      const reply = await monitor.execute<{ status?: string }>("query-migrate", undefined);
      if (reply.status === "completed") return;
      if (reply.status === "failed") throw new Error("bare migration failed");
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("bare migration did not finish in time");
}

/** Bare QEMU: `migrate` to a file through `exec:`, and back with `-incoming exec:`. */
async function bareRounds(dir: string, rounds: number): Promise<{ save: Figure; restore: Figure }> {
  const image = `${dir}/bare.state`;
  const save: Figure = { ms: [], bytes: 0 };
  const restore: Figure = { ms: [], bytes: 0 };
  let source = await bareQemu(dir, "bare");
  try {
    await waitForSerialMarker(source.serial, GUEST_READY_MARKER, {
      timeoutMs: GUEST_BOOT_TIMEOUT_MS,
    });
    for (let round = 0; round < rounds; round++) {
      save.ms.push(
        await timed(async () => {
          await source.monitor.execute("stop", undefined);
          await source.monitor.execute("migrate-set-parameters", { "max-bandwidth": 1024 ** 4 });
          await source.monitor.execute("migrate", { uri: `exec:cat > ${image} && sync` });
          await waitMigration(source.monitor, false);
        }),
      );
      save.bytes = restore.bytes = Deno.statSync(image).size;
      await source.monitor.close();
      await killPid(source.pid, WAIT_TIMEOUT_MS);
      const started = performance.now();
      source = await bareQemu(dir, `bare-${round}`, `exec:cat ${image}`);
      await waitMigration(source.monitor, true);
      await source.monitor.execute("cont", undefined);
      restore.ms.push(performance.now() - started);
      Deno.removeSync(image);
    }
  } finally {
    await source.monitor.close().catch(() => {});
    await killPid(source.pid, WAIT_TIMEOUT_MS);
  }
  return { save, restore };
}

/** `dd` of `bytes` to the same folder, synced: the disk's floor. */
async function ddRounds(dir: string, bytes: number, rounds: number): Promise<Figure> {
  const figure: Figure = { ms: [], bytes };
  const blocks = Math.ceil(bytes / (1024 * 1024));
  for (let round = 0; round < rounds; round++) {
    figure.ms.push(
      await timed(() =>
        run("dd", ["if=/dev/zero", `of=${dir}/dd.out`, "bs=1M", `count=${blocks}`, "conv=fsync"])
      ),
    );
    Deno.removeSync(`${dir}/dd.out`);
  }
  return figure;
}

/** libvirtd 9.0's `virsh save` / `virsh restore` of the same guest, when it answers. */
async function libvirtRounds(
  dir: string,
  rounds: number,
): Promise<{ save: Figure; restore: Figure } | string> {
  const virsh = (args: string[]) =>
    new Deno.Command("virsh", {
      args: ["-c", "qemu:///system", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  try {
    if (!(await virsh(["version"])).success) return "libvirtd does not answer";
  } catch {
    return "virsh is not installed";
  }
  const name = `evirt-oracle-bench-${crypto.randomUUID().slice(0, 8)}`;
  Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
  Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
  const serial = `${dir}/libvirt-serial.log`;
  Deno.writeTextFileSync(
    `${dir}/libvirt.xml`,
    `<domain type='qemu'><name>${name}</name><memory unit='MiB'>${GUEST_MIB}</memory>
<vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type><kernel>${dir}/vmlinux</kernel>
<initrd>${dir}/initrd.gz</initrd><cmdline>${GUEST_KERNEL_CMDLINE_DEFAULT}</cmdline></os>
<devices><serial type='file'><source path='${serial}'/><target port='0'/></serial>
<memballoon model='none'/></devices></domain>`,
  );
  const image = `${dir}/libvirt.save`;
  const save: Figure = { ms: [], bytes: 0 };
  const restore: Figure = { ms: [], bytes: 0 };
  try {
    const created = await virsh(["create", `${dir}/libvirt.xml`]);
    if (!created.success) return new TextDecoder().decode(created.stderr).trim();
    await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
    for (let round = 0; round < rounds; round++) {
      save.ms.push(await timed(() => virsh(["save", name, image])));
      save.bytes = restore.bytes = Deno.statSync(image).size;
      restore.ms.push(await timed(() => virsh(["restore", image])));
      Deno.removeSync(image);
    }
  } finally {
    await virsh(["destroy", name]);
  }
  return { save, restore };
}

function main(): Promise<void> {
  return withBenchGuest("evirt-bench-save-", async (dir, rounds) => {
    const evirt = await evirtRounds(dir, rounds);
    const bare = await bareRounds(dir, rounds);
    const dd = await ddRounds(dir, evirt.save.bytes, rounds);
    const libvirt = await libvirtRounds(dir, rounds);
    console.log(`save/restore of a ${GUEST_MIB} MiB guest, median of ${rounds}:`);
    console.log(`  evirt save     ${rate(evirt.save)} (${(evirt.save.bytes / MB).toFixed(0)} MB)`);
    console.log(`  bare save      ${rate(bare.save)} (${(bare.save.bytes / MB).toFixed(0)} MB)`);
    console.log(`  dd (floor)     ${rate(dd)}`);
    console.log(`  evirt restore  ${rate(evirt.restore)}`);
    console.log(`  bare restore   ${rate(bare.restore)}`);
    if (typeof libvirt === "string") {
      console.log(`  libvirtd: not measured (${libvirt})`);
    } else {
      console.log(`  libvirtd save  ${rate(libvirt.save)}`);
      console.log(`  libvirtd rest. ${rate(libvirt.restore)}`);
    }
    console.log(
      `  ratios: save ${(median(evirt.save.ms) / median(bare.save.ms)).toFixed(2)}× bare, ` +
        `restore ${(median(evirt.restore.ms) / median(bare.restore.ms)).toFixed(2)}× bare`,
    );
  });
}

if (import.meta.main) await main();
