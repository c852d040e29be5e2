/**
 * LUKS disks through the QEMU driver with a real QEMU: images made by `qemu-img create` with a
 * passphrase (a raw LUKS image and an encrypted qcow2) are opened by a guest whose secret holds
 * that passphrase — QEMU lists both format nodes as encrypted, the master key is a 0600 file
 * of the runtime folder, and the passphrase is nowhere on QEMU's command line. A wrong
 * passphrase fails the start with QEMU's reason; a secret that does not exist fails it with
 * libvirt's code 66 before QEMU runs.
 */

import assert from "node:assert/strict";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { ErrorCode, isVirtError, VirtError } from "../../src/model/errors.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { parseDomainXml } from "../../src/xml/mod.ts";
import { missing, testIf } from "../support/environment.ts";
import { makeLuksImage } from "../support/luks_image.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";
import { killAll } from "./_qemu_guest.ts";

/** Bound on a start and a destroy, in milliseconds (LUKS key derivation takes seconds). */
const CASE_TIMEOUT_MS = 60_000;

const PASSPHRASE = "correct horse battery staple";
const SECRET_UUID = "e78d4b51-a2af-485f-b0f5-afca709a80f4";

function domainXml(root: string, secretUuid = SECRET_UUID): string {
  const encryption = `<encryption format='luks'>` +
    `<secret type='passphrase' uuid='${secretUuid}'/></encryption>`;
  return `<domain type='qemu'>
  <name>luks</name>
  <uuid>3c1b0f5e-6a7d-4c1e-9a55-0e2f8a9b1c01</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${root}/raw.luks'/>
      <target dev='vda' bus='virtio'/>
      ${encryption}
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${root}/disk.qcow2'/>
      <target dev='vdb' bus='virtio'/>
      ${encryption}
    </disk>
    <memballoon model='none'/>
  </devices>
</domain>`;
}

/** A driver whose secret store holds `value` under {@linkcode SECRET_UUID}. */
async function driverWith(root: string, value: string): Promise<QemuDriver> {
  const driver = await QemuDriver.create({
    runtimeDir: `${root}/run`,
    logDir: `${root}/log`,
    log: () => {},
    hugetlbfs: [],
  });
  driver.useSecretValues((reference) => {
    if ("uuid" in reference && reference.uuid === SECRET_UUID) {
      return new TextEncoder().encode(value);
    }
    throw new VirtError(ErrorCode.NO_SECRET, "no secret with matching uuid");
  });
  return driver;
}

testIf(
  "QemuDriver opens LUKS disks with their secret's passphrase and refuses a wrong one",
  missing("qemu-system-x86_64", "qemu-img"),
  async (t) => {
    const root = searchableTempDirSync("evirt-luks-");
    await makeLuksImage(`${root}/raw.luks`, "raw", PASSPHRASE);
    await makeLuksImage(`${root}/disk.qcow2`, "qcow2", PASSPHRASE);
    const definition = applyDomainDefaults(parseDomainXml(domainXml(root)));
    const request = { uuid: definition.uuid!, name: definition.name, id: 3, definition };
    let launched: { pid: number; startTimeTicks: number } | undefined;
    try {
      await t.step("the right passphrase opens both images", async () => {
        const driver = await driverWith(root, PASSPHRASE);
        try {
          const runtime = await driver.launch(request, AbortSignal.timeout(CASE_TIMEOUT_MS));
          launched = { pid: Number(runtime.pid), startTimeTicks: Number(runtime.startTimeTicks) };
          const blocks = await driver.qmpOf(request.uuid).queryBlock({ timeoutMs: 5_000 });
          const encrypted = blocks.filter((block) => block.inserted?.encrypted === true)
            .map((block) => block.inserted?.["node-name"]).sort();
          assert.deepEqual(encrypted, ["drive0-format", "drive1-format"]);
          const commandLine = Deno.readTextFileSync(`/proc/${runtime.pid}/cmdline`);
          assert.ok(!commandLine.includes(PASSPHRASE), "the passphrase is on the command line");
          assert.ok(!commandLine.includes(btoa(PASSPHRASE)), "the passphrase is on it in base64");
          const keyFile = commandLine.split("\0").find((arg) =>
            arg.startsWith("secret,id=masterKey0,")
          )
            ?.replace(/^.*,file=/, "");
          assert.ok(keyFile !== undefined, "no master key object");
          const key = Deno.statSync(keyFile);
          assert.equal(key.size, 32);
          assert.equal((key.mode ?? 0) & 0o777, 0o600);
          await driver.terminate(
            { ...request, runtime },
            { graceful: false },
            AbortSignal.timeout(CASE_TIMEOUT_MS),
          );
          launched = undefined;
          driver.unwatch(request.uuid);
        } finally {
          await driver.close();
        }
      });
      await t.step("a wrong passphrase fails the start with QEMU's reason", async () => {
        const driver = await driverWith(root, "not the passphrase");
        try {
          const error = await driver.launch(request, AbortSignal.timeout(CASE_TIMEOUT_MS)).then(
            () => undefined,
            (error) => error as Error,
          );
          assert.ok(error !== undefined, "the start succeeded");
          assert.match(error.message, /Invalid password, cannot unlock any keyslot/);
        } finally {
          await driver.close();
        }
      });
      await t.step("a secret that does not exist fails the start with code 66", async () => {
        const driver = await driverWith(root, PASSPHRASE);
        const other = applyDomainDefaults(
          parseDomainXml(domainXml(root, "11111111-2222-3333-4444-555555555555")),
        );
        try {
          await assert.rejects(
            driver.launch({ ...request, definition: other }, AbortSignal.timeout(CASE_TIMEOUT_MS)),
            (error) => isVirtError(error, ErrorCode.NO_SECRET),
          );
        } finally {
          await driver.close();
        }
      });
    } finally {
      if (launched !== undefined) await killAll([launched]);
      Deno.removeSync(root, { recursive: true });
    }
  },
);
