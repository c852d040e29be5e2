import assert from "node:assert/strict";
import {
  DRY_BUILD_INLINE_DEVICES_MAX,
  QemuDriver,
  realityOf,
} from "../../../drivers/qemu/qemu_driver.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { FACT_BODY_MAX_BYTES } from "../../../src/log/event_store.ts";
import {
  encodeJson,
  knownJsonText,
  prepareJsonText,
  rememberJsonText,
} from "../../../src/log/json_text.ts";
import { isJsonTextReleased, jsonTextString } from "../../../src/log/json_pieces.ts";
import { prepareCompactJson, valueOfCompactJson } from "../../../src/log/compact_json.ts";
import { isCompactDefinition, isCompactPart } from "../../../src/model/compact_definition.ts";
import type { DomainDefinition } from "../../../src/model/domain.ts";
import { missing, testIf } from "../../support/environment.ts";
import { qemuDefinition, withDevices } from "./_qemu_definitions.ts";
import { searchableTempDirSync } from "../../support/temp_dir.ts";

Deno.test("realityOf maps QEMU run states as reference §3 says", () => {
  assert.deepEqual(realityOf("running"), { kind: "running" });
  assert.deepEqual(realityOf("paused"), { kind: "paused", reason: "user" });
  assert.deepEqual(realityOf("prelaunch"), { kind: "paused", reason: "user" });
  assert.deepEqual(realityOf("postmigrate"), { kind: "paused", reason: "migration" });
  assert.deepEqual(realityOf("io-error"), { kind: "paused", reason: "ioerror" });
  assert.deepEqual(realityOf("save-vm"), { kind: "paused", reason: "save" });
  assert.deepEqual(realityOf("watchdog"), { kind: "paused", reason: "watchdog" });
  assert.deepEqual(realityOf("internal-error"), { kind: "paused", reason: "unknown" });
  assert.deepEqual(realityOf("shutdown"), { kind: "shutdown" });
  assert.deepEqual(realityOf("guest-panicked"), { kind: "crashed" });
});

Deno.test("QemuDriver.ptyPaths reads the console and device ptys of a runtime record", () => {
  assert.deepEqual(
    QemuDriver.ptyPaths({
      pid: 1,
      consolePty: "/dev/pts/3",
      "pty.serial0": "/dev/pts/3",
      "pty.channel0": "/dev/pts/4",
    }),
    { serial0: "/dev/pts/3", channel0: "/dev/pts/4", console: "/dev/pts/3" },
  );
  assert.deepEqual(QemuDriver.ptyPaths({ consolePty: null }), {});
});

testIf(
  "QemuDriver.check refuses by element without touching the host",
  missing("qemu-system-x86_64"),
  async () => {
    const dir = searchableTempDirSync();
    try {
      const driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        kvmUsable: false,
      });
      assert.deepEqual(driver.domainTypes, ["qemu", "kvm"]);
      assert.match(driver.hypervisorVersion, /^[0-9]+\.[0-9]+/);
      driver.check(qemuDefinition());
      assert.throws(
        () => driver.check(qemuDefinition({ type: "kvm" })),
        (error: unknown) =>
          isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED) && error.where === "/domain/@type",
      );
      assert.throws(
        () =>
          driver.check(
            withDevices((devices) => devices.hostdevs.push({ mode: "subsystem", type: "usb" })),
          ),
        (error: unknown) =>
          isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED) &&
          error.where === "/domain/devices/hostdev[1]",
      );
      // A name libvirt accepts (246 bytes) whose escaped log file names would not fit.
      assert.throws(
        () => driver.check({ ...qemuDefinition(), name: "é".repeat(123) }),
        (error: unknown) =>
          isVirtError(error, ErrorCode.SYSTEM_ERROR) && error.where === "/domain/name" &&
          error.message.endsWith("File name too long"),
      );
      driver.check({ ...qemuDefinition(), name: "y".repeat(247) });
      // A missing disk image is a launch-time error, not a check-time one.
      driver.check(withDevices((devices) =>
        devices.disks.push({
          type: "file",
          source: { file: "/nonexistent.img", hosts: [] },
          target: { dev: "vda", bus: "virtio" },
        })
      ));
      assert.deepEqual([...Deno.readDirSync(dir)], []);
      await driver.close();
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

testIf(
  "QemuDriver refuses to act on a domain it does not run",
  missing("qemu-system-x86_64"),
  async () => {
    const dir = searchableTempDirSync();
    try {
      const driver = await QemuDriver.create({ runtimeDir: `${dir}/run`, logDir: `${dir}/log` });
      const handle = { uuid: "u", name: "ghost", id: 9, definition: qemuDefinition(), runtime: {} };
      const error = await driver.pause(handle, AbortSignal.timeout(1000)).catch((caught) => caught);
      assert.ok(isVirtError(error, ErrorCode.OPERATION_INVALID), String(error));
      assert.throws(
        () => driver.qmpOf("u"),
        (caught: unknown) => isVirtError(caught, ErrorCode.OPERATION_INVALID),
      );
      const probeError = await driver.probe(handle, AbortSignal.timeout(1000)).catch((caught) =>
        caught
      );
      assert.ok(isVirtError(probeError, ErrorCode.INTERNAL_ERROR), String(probeError));
      assert.deepEqual(driver.info(handle), { cpuTimeNs: 0, memoryKiB: 219100 });
      await driver.close();
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

testIf(
  "QemuDriver.checkOffLoop gives check's verdict for a large definition, from a thread",
  missing("qemu-system-x86_64"),
  () =>
    withDriver(async (driver) => {
      const accepted = large();
      await driver.checkOffLoop(accepted);
      driver.check(accepted);

      const refused = large();
      refused.devices.hostdevs.push({ mode: "subsystem", type: "usb" });
      const inPlace: unknown = (() => {
        try {
          driver.check(refused);
          return undefined;
        } catch (error) {
          return error;
        }
      })();
      const offLoop = await driver.checkOffLoop(refused).catch((error) => error);
      assert.ok(isVirtError(offLoop, ErrorCode.CONFIG_UNSUPPORTED), String(offLoop));
      assert.ok(isVirtError(inPlace));
      assert.deepEqual([offLoop.message, offLoop.where], [inPlace.message, inPlace.where]);
      // Still refused afterwards: only an accepted definition is remembered.
      assert.throws(() => driver.check(refused));
    }),
);

testIf(
  "QemuDriver.completeDefinition of a large definition read as JSON text sends that text and " +
    "returns the completion with its text, which the define's append reuses",
  missing("qemu-system-x86_64"),
  () =>
    withDriver(async (driver) => {
      // As the definition reader hands it over: parsed from its text, the text remembered.
      const read = large();
      rememberJsonText(read, prepareJsonText(read, "definition", FACT_BODY_MAX_BYTES));
      const completed = await driver.completeDefinition(read);
      // The same completion as without a text (the definition sent as a clone).
      assert.deepEqual(completed, await driver.completeDefinition(large()));
      assert.ok(completed.devices.controllers.length > read.devices.controllers.length);
      // Its text is known: the fact body's encoding needs no pass over the definition.
      const encoded = encodeJson({ definition: completed, detail: "added" }, "body", 1 << 26);
      assert.notEqual(encoded.known, undefined);
      assert.equal(
        jsonTextString(encoded.text),
        JSON.stringify({ definition: completed, detail: "added" }),
      );
    }),
);

testIf(
  "QemuDriver.completeDefinition of a compact definition frees the text it was read with and " +
    "returns the completion with its text in UTF-8 pieces",
  missing("qemu-system-x86_64"),
  () =>
    withDriver(async (driver) => {
      // As the definition reader hands a large description over: compact, its text in pieces.
      const plain = { ...large(), description: "d".repeat(1 << 20) };
      const sent = prepareCompactJson(plain, "definition", FACT_BODY_MAX_BYTES);
      const read = valueOfCompactJson(sent);
      assert.ok(isCompactDefinition(read));
      const completed = await driver.completeDefinition(read);
      assert.notEqual(completed, read);
      // The text as read is freed at once, and no longer remembered.
      assert.ok(isJsonTextReleased(sent.json.text));
      assert.equal(knownJsonText(read), undefined);
      // The completion's text came back in pieces, whole.
      const known = knownJsonText(completed);
      assert.equal(typeof known?.text, "object");
      assert.equal(jsonTextString(known!.text), JSON.stringify(completed));
      assert.equal(completed.description, plain.description);
    }),
);

/** A definition with one device more than a dry build runs on the main loop. */
function large(): DomainDefinition {
  return withDevices((devices) => {
    for (let index = 0; index <= DRY_BUILD_INLINE_DEVICES_MAX; index++) {
      devices.interfaces.push({ type: "user", model: "virtio" });
    }
  });
}

/** Runs `work` with a QEMU driver on a temporary folder (no KVM), closed and removed after. */
async function withDriver(work: (driver: QemuDriver) => Promise<void>): Promise<void> {
  const dir = searchableTempDirSync();
  const driver = await QemuDriver.create({
    runtimeDir: `${dir}/run`,
    logDir: `${dir}/log`,
    kvmUsable: false,
  });
  try {
    await work(driver);
  } finally {
    await driver.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

/** `vda`, …, `vdz`, `vdaa`, …: libvirt's disk names. */
function diskName(index: number): string {
  let name = "";
  for (let rest = index + 1; rest > 0; rest = Math.floor((rest - 1) / 26)) {
    name = String.fromCharCode(97 + (rest - 1) % 26) + name;
  }
  return `vd${name}`;
}

/** A definition whose disk list alone is over 64 KiB of JSON: read on a thread, it is compact. */
function withManyDisks(overrides: Partial<DomainDefinition> = {}): DomainDefinition {
  return withDevices((devices) => {
    for (let index = 0; index < 500; index++) {
      devices.disks.push({
        type: "file",
        device: "disk",
        source: { file: `/var/lib/libvirt/images/guest-data-disk-${index}.qcow2` },
        target: { dev: diskName(index), bus: "virtio" },
      } as never);
    }
  }, overrides);
}

testIf(
  "QemuDriver.completeDefinition of a compact definition completes it on the thread, and it " +
    "comes back compact with its text known",
  missing("qemu-system-x86_64"),
  () =>
    withDriver(async (driver) => {
      // As the definition reader hands it over: compact, its text remembered.
      const sent = prepareCompactJson(withManyDisks(), "definition", FACT_BODY_MAX_BYTES);
      const read = valueOfCompactJson(structuredClone(sent));
      assert.ok(isCompactDefinition(read));
      const completed = await driver.completeDefinition(read);
      assert.ok(isCompactDefinition(completed) && isCompactPart(completed, "devices"));
      assert.notEqual(knownJsonText(completed), undefined);
      // The same completion as of the plain definition (completed on the thread too).
      assert.deepEqual(completed, await driver.completeDefinition(withManyDisks()));
      assert.ok(completed.devices.controllers.length > 0);
      driver.check(completed);
    }),
);

testIf(
  "a large definition's CPU model is checked on the thread against the emulator's names, as in place",
  missing("qemu-system-x86_64"),
  () =>
    withDriver(async (driver) => {
      const cpu = { mode: "custom", model: "no-such-cpu", features: [] } as never;
      const small = qemuDefinition({ cpu });
      const inPlace = await driver.completeDefinition(small)
        .then((completed) => driver.check(completed))
        .catch((error) => error);
      assert.ok(isVirtError(inPlace, ErrorCode.CONFIG_UNSUPPORTED), String(inPlace));
      const offLoop = await driver.completeDefinition(withManyDisks({ cpu }))
        .catch((error) => error);
      assert.ok(isVirtError(offLoop, ErrorCode.CONFIG_UNSUPPORTED), String(offLoop));
      assert.deepEqual([offLoop.message, offLoop.where], [inPlace.message, inPlace.where]);
    }),
);
