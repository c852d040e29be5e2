import assert from "node:assert/strict";
import {
  dacPlanFor,
  dacRecord,
  giveBackFiles,
  labelFiles,
  liveSeclabelOf,
  recordedDacPaths,
  recordedSocketLinks,
  redirectSockets,
} from "../../../drivers/qemu/dac_labelling.ts";
import { DAC_XATTR_NAME, labelPath } from "../../../drivers/qemu/dac_ownership.ts";
import { getXattr } from "../../../drivers/qemu/dac_xattr.ts";
import { QemuDriver } from "../../../drivers/qemu/qemu_driver.ts";
import { buildCommandLine } from "../../../drivers/qemu/command_line.ts";
import { withDetectedBackingChains } from "../../../drivers/qemu/runtime_facts.ts";
import { missing, testIf } from "../../support/environment.ts";
import { qemuDefinition, TEST_CONTEXT } from "./_qemu_definitions.ts";

const QEMU_USER = { uid: 64055, gid: 64055 };
const SETTINGS = { user: QEMU_USER, dynamicOwnership: true };
const rootSkip = Deno.uid() === 0 ? undefined : "needs root (chown)";

function diskDefinition(path: string, format: string) {
  const definition = qemuDefinition();
  definition.devices.disks.push({
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: format },
    source: { file: path, hosts: [] },
    target: { dev: "vda", bus: "virtio" },
  });
  return definition;
}

function planOf(definition: ReturnType<typeof qemuDefinition>) {
  const line = buildCommandLine(definition, TEST_CONTEXT);
  return dacPlanFor(definition, line.hostPaths, SETTINGS);
}

/** The plan of a start: the chain read from the images first, as the driver's launch does. */
async function startPlanOf(definition: ReturnType<typeof qemuDefinition>) {
  return planOf(await withDetectedBackingChains(definition));
}

testIf(
  "dacPlanFor names the disk and its whole backing chain, and the record lists them",
  missing("qemu-img"),
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "evirt-dac-plan-" });
    try {
      const run = (args: string[]) =>
        new Deno.Command("qemu-img", { args, stdout: "null", stderr: "null" }).outputSync();
      run(["create", "-f", "raw", `${dir}/base.raw`, "1M"]);
      run(["create", "-f", "qcow2", "-F", "raw", "-b", "base.raw", `${dir}/mid.qcow2`]);
      run(["create", "-f", "qcow2", "-F", "qcow2", "-b", `${dir}/mid.qcow2`, `${dir}/top.qcow2`]);
      const plan = await startPlanOf(diskDefinition(`${dir}/top.qcow2`, "qcow2"));
      // QEMU's nodes are made bottom first: the order of giving does not matter.
      assert.deepEqual(plan.targets.map((target) => target.path).sort(), [
        `${dir}/base.raw`,
        `${dir}/mid.qcow2`,
        `${dir}/top.qcow2`,
      ]);
      assert.deepEqual(recordedDacPaths(dacRecord(plan)), plan.targets.map((each) => each.path));
      // An image the definition calls raw is never read for a backing name (a guest writes it).
      run(["create", "-f", "qcow2", "-b", `${dir}/base.raw`, "-F", "raw", `${dir}/named.qcow2`]);
      assert.equal(
        (await startPlanOf(diskDefinition(`${dir}/named.qcow2`, "raw"))).targets.length,
        1,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("dacRecord and liveSeclabelOf give libvirt's live seclabel", () => {
  const plan = planOf(qemuDefinition());
  assert.deepEqual(liveSeclabelOf(dacRecord(plan)), {
    type: "dynamic",
    model: "dac",
    relabel: "yes",
    label: "+64055:+64055",
    imagelabel: "+64055:+64055",
  });
  assert.equal(liveSeclabelOf({ driver: "qemu" }), undefined);
});

testIf(
  "labelFiles gives every file back when one cannot be given",
  rootSkip,
  () => {
    const dir = Deno.makeTempDirSync({ prefix: "evirt-dac-label-" });
    try {
      Deno.writeFileSync(`${dir}/a.img`, new Uint8Array(16));
      const label = QEMU_USER;
      const plan = {
        policy: planOf(qemuDefinition()).policy,
        socketLinks: [],
        targets: [
          {
            path: `${dir}/a.img`,
            where: "/domain/devices/disk[1]/source/@file",
            label,
            create: false,
          },
          {
            path: `${dir}/missing.img`,
            where: "/domain/devices/disk[2]/source/@file",
            label,
            create: false,
          },
        ],
      };
      assert.throws(() => labelFiles(plan, "u-1", () => {}), /unable to stat/);
      assert.equal(Deno.statSync(`${dir}/a.img`).uid, 0, "the first file was given back");
      assert.equal(getXattr(`${dir}/a.img`, DAC_XATTR_NAME), undefined);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

testIf(
  "QemuDriver.adopt gives back what an interrupted start gave to QEMU (intent before action)",
  rootSkip ?? missing("qemu-system-x86_64"),
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "evirt-dac-adopt-" });
    try {
      Deno.writeFileSync(`${dir}/disk.img`, new Uint8Array(16));
      Deno.chownSync(`${dir}/disk.img`, 1234, 2345);
      const driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        log: () => {},
        dac: SETTINGS,
      });
      try {
        const definition = diskDefinition(`${dir}/disk.img`, "raw");
        const request = { uuid: definition.uuid!, name: definition.name, id: 7, definition };
        const planned = driver.plan(request);
        assert.deepEqual(recordedDacPaths(planned), [`${dir}/disk.img`], "named before any chown");
        // The service died after giving the disk to QEMU, before QEMU was spawned.
        labelPath(`${dir}/disk.img`, QEMU_USER, request.uuid);
        assert.equal(Deno.statSync(`${dir}/disk.img`).uid, QEMU_USER.uid);
        assert.equal(await driver.adopt(request, planned, AbortSignal.timeout(10_000)), undefined);
        const info = Deno.statSync(`${dir}/disk.img`);
        assert.deepEqual([info.uid, info.gid], [1234, 2345]);
        // Recovery twice (a crash during recovery) changes nothing more.
        giveBackFiles(recordedDacPaths(planned), request.uuid, () => {});
        assert.equal(Deno.statSync(`${dir}/disk.img`).uid, 1234);
      } finally {
        await driver.close();
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("redirectSockets moves a listening socket into QEMU's folder and the record keeps the link", () => {
  const links = [{ requested: "/srv/a,b.sock", actual: "/run/evirt/qemu/d1/socket-0.sock" }];
  assert.deepEqual(
    redirectSockets([
      "-chardev",
      "socket,id=charserial0,path=/srv/a,,b.sock,server=on,wait=off",
      "-vnc",
      "unix:/srv/a,,b.sock",
      "-chardev",
      "socket,id=charserial1,path=/srv/a,,b.sock.other,server=on",
    ], links).slice(1),
    [
      "socket,id=charserial0,path=/run/evirt/qemu/d1/socket-0.sock,server=on,wait=off",
      "-vnc",
      "unix:/run/evirt/qemu/d1/socket-0.sock",
      "-chardev",
      "socket,id=charserial1,path=/srv/a,,b.sock.other,server=on",
    ],
  );
  const plan = { ...planOf(qemuDefinition()), socketLinks: links };
  assert.deepEqual(recordedSocketLinks(dacRecord(plan)), links);
});
