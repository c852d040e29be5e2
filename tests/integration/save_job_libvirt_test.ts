/**
 * `domjobinfo` and `domjobabort` beside libvirtd 9.0 (`qemu:///system`), the test guest under
 * each: with no job, both answer the same lines and errors; after a save, `domjobinfo
 * --completed` shows the same fields in the same order (their figures differ: the stream's
 * speed), once. Skipped, counted, when libvirtd does not answer.
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
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

function guestXml(name: string, dir: string, side: string): string {
  return guestDomainXml({ name, dir, acpi: true, serial: { path: `${dir}/${side}.log` } });
}

/** `domjobinfo`'s field names in order, with the values of the ones that do not vary. */
function layout(text: string): string[] {
  return text.split("\n").filter((line) => line.includes(":")).map((line) => {
    const [field, value] = [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)];
    return /^(Job type|Operation)$/.test(field) ? `${field}: ${value.trim()}` : field;
  });
}

/** What a run printed, its error's trailing blank lines aside (they vary with the terminal). */
function printed(run: VirshRun): string {
  return `${run.code}\n${run.stdout}\n${run.stderr.trimEnd()}`;
}

testIf(
  "domjobinfo and domjobabort answer as libvirtd 9.0: no job, and a completed save's fields",
  missing("virsh", LIBVIRTD_SOCKET, "qemu-system-x86_64") ?? guestSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    // libvirtd's QEMU reads the kernel as its own user: copies in the searchable folder.
    Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
    Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
    const name = `${ORACLE_PREFIX}job16-${crypto.randomUUID().slice(0, 8)}`;
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const sides: Array<[string, (args: string[]) => Promise<VirshRun>]> = [
      ["libvirtd", oracleVirsh],
      ["evirt", (args) => runVirsh(uri, args)],
    ];
    try {
      const answers: Record<string, string[]> = {};
      for (const [side, virsh] of sides) {
        Deno.writeTextFileSync(`${dir}/${side}.xml`, guestXml(name, dir, side));
        assert.equal((await virsh(["define", `${dir}/${side}.xml`])).code, 0);
        const started = await virsh(["start", name]);
        assert.equal(started.code, 0, started.stderr);
        await waitForSerialMarker(`${dir}/${side}.log`, GUEST_READY_MARKER, {
          timeoutMs: GUEST_BOOT_TIMEOUT_MS,
        });
        const seen = [
          printed(await virsh(["domjobinfo", name])),
          printed(await virsh(["domjobinfo", name, "--completed"])),
          printed(await virsh(["domjobabort", name])),
          printed(await virsh(["domjobabort", name, "--postcopy"])),
        ];
        const saved = await virsh(["save", name, `${dir}/${side}.save`]);
        assert.equal(saved.code, 0, saved.stderr);
        seen.push(
          layout((await virsh(["domjobinfo", name, "--completed", "--keep-completed"])).stdout)
            .join("\n"),
          layout((await virsh(["domjobinfo", name, "--completed"])).stdout).join("\n"),
          printed(await virsh(["domjobinfo", name, "--completed"])),
          printed(await virsh(["domjobinfo", name])),
          printed(await virsh(["domjobabort", name])),
        );
        answers[side] = seen;
        assert.equal((await virsh(["restore", `${dir}/${side}.save`])).code, 0);
        assert.equal((await virsh(["destroy", name])).code, 0);
        assert.equal((await virsh(["undefine", name])).code, 0);
      }
      assert.deepEqual(answers.evirt, answers.libvirtd);
    } finally {
      await oracleVirsh(["destroy", name]);
      await oracleVirsh(["undefine", name, "--managed-save"]);
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
