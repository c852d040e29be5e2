/**
 * A long save's progress and cancel through virsh over evirt's libvirt socket, with the test
 * guest under real QEMU and the save's stream capped (`EVIRT_SAVE_MAX_BANDWIDTH_MIB`) so that it
 * lasts: while `virsh save` runs, `domjobinfo` shows an unbounded Save job whose data grows;
 * `domjobabort` cancels it, the save fails with libvirt's code 78 words, the partial image is
 * gone and the guest runs on (running (save canceled)), and so for a managed save, which leaves
 * none recorded; `evirt save --verbose` on a terminal draws virsh's progress, and the save is
 * then shown by `domjobinfo --completed` (evirt's lines the same as virsh's) once, and not again.
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
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, VIRSH_TIMEOUT_MS } from "../support/virsh.ts";
import { runChild } from "../support/child_process.ts";
import { CLI_PATH, runEvirt } from "../support/cli_process.ts";

/** The save's stream cap: about 35 MiB of guest memory then take some seconds. */
const SAVE_CAP_MIB = 4;
/** Longest wait for the save's job to show progress, in ms. */
const JOB_SEEN_TIMEOUT_MS = 20_000;
/** Pause between two `domjobinfo` polls, in ms. */
const POLL_MS = 100;

function guestXml(name: string, dir: string): string {
  return guestDomainXml({
    name,
    dir,
    acpi: true,
    serial: { path: `${dir}/serial.log`, append: true },
  });
}

/** `domjobinfo`'s lines as field name and value. */
function fields(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z /]+):\s+(.*?)\s*$/.exec(line);
    if (match !== null) map.set(match[1], match[2]);
  }
  return map;
}

/** Bytes of a virsh size (`12.345 MiB`). */
function bytesOf(text: string | undefined): number {
  const match = /^([0-9.]+) (B|KiB|MiB|GiB)$/.exec(text ?? "");
  assert.ok(match !== null, `a size: '${text}'`);
  const scale = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[match[2]]!;
  return Number(match[1]) * scale;
}

/** Starts `virsh save` (or with no `path`, `virsh managedsave`) without waiting for it. */
function startSave(uri: string, name: string, path?: string) {
  const child = new Deno.Command("virsh", {
    args: ["-c", uri, ...(path === undefined ? ["managedsave", name] : ["save", name, path])],
    env: { LC_ALL: "C", LIBVIRT_DEFAULT_URI: "" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), VIRSH_TIMEOUT_MS * 4);
  return child.output().then((output) => {
    clearTimeout(timer);
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
  });
}

/** Polls `domjobinfo` until the save's job has moved data; answers its fields. */
async function awaitSaveProgress(uri: string, name: string): Promise<Map<string, string>> {
  const deadline = Date.now() + JOB_SEEN_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    const info = await runVirsh(uri, ["domjobinfo", name]);
    last = info.stdout + info.stderr;
    const seen = fields(info.stdout);
    // virsh leaves the data lines out while all of them are 0 (a save that has not begun).
    const processed = seen.get("Data processed");
    if (seen.get("Job type") === "Unbounded" && processed !== undefined && bytesOf(processed) > 0) {
      return seen;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`no save job with progress in ${JOB_SEEN_TIMEOUT_MS} ms; last: ${last}`);
}

testIf(
  "a long save shows its progress in domjobinfo, domjobabort cancels it (the guest runs on), --completed shows a finished one once",
  missing("virsh", "qemu-system-x86_64", "script") ?? guestSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
    Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
    const name = "slow";
    Deno.writeTextFileSync(`${dir}/guest.xml`, guestXml(name, dir));
    const service = await startServiceProcess(dirs, {
      EVIRT_SAVE_MAX_BANDWIDTH_MIB: String(SAVE_CAP_MIB),
    });
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const virsh = (...args: string[]) => runVirsh(uri, args);
    try {
      assert.equal((await virsh("define", `${dir}/guest.xml`)).code, 0);
      assert.equal((await virsh("start", name)).code, 0);
      await waitForSerialMarker(`${dir}/serial.log`, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      const noJob = await virsh("domjobabort", name);
      assert.match(
        noJob.stderr,
        /^error: Requested operation is not valid: no job is active on the domain\n/,
      );
      assert.equal((await virsh("domjobinfo", name)).stdout, "Job type:         None        \n\n");

      // A save to abort.
      const image = `${dir}/slow.save`;
      const aborted = startSave(uri, name, image);
      const running = await awaitSaveProgress(uri, name);
      assert.equal(running.get("Operation"), "Save");
      assert.match(running.get("Time elapsed") ?? "", /^\d+ +ms$/);
      assert.ok(bytesOf(running.get("Data total")) >= 128 * 1024 * 1024 * 0.9, "the guest's RAM");
      assert.ok(bytesOf(running.get("Data remaining")) > 0);
      assert.equal(running.get("Memory total"), running.get("Data total"));
      const abort = await virsh("domjobabort", name);
      assert.equal(abort.code, 0, abort.stderr);
      const failed = await aborted;
      assert.equal(failed.code, 1);
      assert.equal(
        failed.stderr.trimEnd(),
        `error: Failed to save domain '${name}' to ${image}\n` +
          "error: operation aborted: job 'saving' canceled by client",
      );
      assert.equal(await Deno.stat(image).then(() => true, () => false), false, "image removed");
      assert.equal(
        (await virsh("domstate", name, "--reason")).stdout,
        "running (save canceled)\n\n",
      );
      assert.equal(
        (await virsh("domjobinfo", name, "--completed")).stdout,
        "Job type:         None        \n\n",
      );

      // An aborted managed save leaves no managed save behind.
      const managed = startSave(uri, name);
      await awaitSaveProgress(uri, name);
      assert.equal((await virsh("domjobabort", name)).code, 0);
      const managedFailed = await managed;
      assert.equal(managedFailed.code, 1);
      assert.match(managedFailed.stderr, /operation aborted: job 'saving' canceled by client/);
      assert.match((await virsh("dominfo", name)).stdout, /^Managed save:\s+no$/m);
      assert.equal(
        (await virsh("domstate", name, "--reason")).stdout,
        "running (save canceled)\n\n",
      );

      // evirt's own verbs answer as virsh's with no job.
      const evirt = (...args: string[]) =>
        runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
      assert.equal((await evirt("domjobinfo", name)).stdout, "Job type:         None        \n\n");
      const ourNoJob = await evirt("domjobabort", name);
      assert.equal(ourNoJob.code, 1);
      assert.equal(ourNoJob.stderr.trimEnd(), noJob.stderr.trimEnd());

      // A save left to finish, by evirt's CLI on a terminal with --verbose: virsh's progress.
      const onTerminal = await runChild(
        "script",
        [
          "-qec",
          [Deno.execPath(), "run", "--allow-all", CLI_PATH, "save", name, image, "--verbose"]
            .map((word) => `'${word}'`).join(" "),
          "/dev/null",
        ],
        { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" },
        JOB_SEEN_TIMEOUT_MS * 3,
      );
      assert.equal(onTerminal.code, 0, onTerminal.stdout + onTerminal.stderr);
      const percents = [...onTerminal.stdout.matchAll(/\rSave: \[ *(\d+) %\]/g)].map((match) =>
        Number(match[1])
      );
      assert.ok(percents.some((percent) => percent < 100), `progress drawn: ${percents}`);
      assert.equal(percents.at(-1), 100);
      assert.deepEqual(percents, [...percents].sort((a, b) => a - b), "never backwards");
      assert.match(onTerminal.stdout, new RegExp(`Domain '${name}' saved to ${image}`));
      // evirt's domjobinfo prints the completed save as virsh does (the same statistics).
      const ours = await evirt("domjobinfo", name, "--completed", "--keep-completed");
      const theirs = await virsh("domjobinfo", name, "--completed", "--keep-completed");
      assert.equal(ours.stdout, theirs.stdout);
      const completed = fields((await virsh("domjobinfo", name, "--completed")).stdout);
      assert.equal(completed.get("Job type"), "Completed");
      assert.equal(completed.get("Operation"), "Save");
      assert.equal(completed.get("Data remaining"), "0.000 B");
      assert.ok(bytesOf(completed.get("Data processed")) > 0);
      assert.equal(
        (await virsh("domjobinfo", name, "--completed")).stdout,
        "Job type:         None        \n\n",
        "shown once",
      );
      const restored = await virsh("restore", image);
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal((await virsh("domstate", name, "--reason")).stdout, "running (restored)\n\n");
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
