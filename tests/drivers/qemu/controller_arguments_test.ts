import assert from "node:assert/strict";
import { SCSI_MODEL_DEFAULT, scsiModels } from "../../../drivers/qemu/controller_arguments.ts";
import { assertRefused, build, valuesOf, withDevices } from "./_qemu_definitions.ts";

const Q35 = { os: { type: "hvm", machine: "q35", boot: [] } };

Deno.test("addControllerArguments adds nothing for built-in controllers", () => {
  const line = build(withDevices((devices) => {
    devices.controllers.push({ type: "pci", index: 0, model: "pci-root" });
    devices.controllers.push({ type: "ide", index: 0 });
    devices.controllers.push({ type: "fdc", index: 0 });
  }));
  assert.deepEqual(valuesOf(line.args, "-device"), []);
});

Deno.test("addControllerArguments places the default i440fx USB controller on the PIIX3 slot", () => {
  const line = build(withDevices((devices) => devices.controllers.push({ type: "usb", index: 0 })));
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "piix3-usb-uhci,id=usb,bus=pci.0,addr=0x1.0x2",
  ]);
  const q35 = build(
    withDevices((devices) => devices.controllers.push({ type: "usb", index: 0 }), Q35),
  );
  assert.deepEqual(valuesOf(q35.args, "-device"), ["qemu-xhci,id=usb,bus=pcie.0,addr=0x1"]);
});

Deno.test("addControllerArguments chains EHCI companions to their master", () => {
  const line = build(withDevices((devices) => {
    devices.controllers.push({
      type: "usb",
      index: 0,
      model: "ich9-ehci1",
      address: { type: "pci", bus: 0, slot: 4, function: 7 },
    });
    devices.controllers.push({
      type: "usb",
      index: 0,
      model: "ich9-uhci1",
      masterStartport: 0,
      address: { type: "pci", bus: 0, slot: 4, function: 0, multifunction: "on" },
    });
  }));
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "ich9-usb-ehci1,id=usb,bus=pci.0,addr=0x4.0x7",
    "ich9-usb-uhci1,masterbus=usb.0,firstport=0,bus=pci.0,addr=0x4,multifunction=on",
  ]);
});

Deno.test("addControllerArguments orders PCI controllers by index with their target properties", () => {
  const line = build(withDevices((devices) => {
    devices.controllers.push({
      type: "pci",
      index: 2,
      model: "pcie-root-port",
      target: { chassis: "2", port: "0x10" },
    });
    devices.controllers.push({ type: "pci", index: 1, model: "pcie-root-port" });
    devices.controllers.push({ type: "pci", index: 0, model: "pcie-root" });
  }, Q35));
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "pcie-root-port,chassis=1,id=pci.1,bus=pcie.0,addr=0x1",
    "pcie-root-port,chassis=2,port=0x10,id=pci.2,bus=pcie.0,addr=0x2",
  ]);
});

Deno.test("addControllerArguments refuses controllers that do not fit the machine", () => {
  assertRefused(
    withDevices((devices) =>
      devices.controllers.push({ type: "pci", index: 0, model: "pcie-root" })
    ),
    "/domain/devices/controller[1]/@model",
  );
  assertRefused(
    withDevices((devices) => devices.controllers.push({ type: "xenbus", index: 0 })),
    "/domain/devices/controller[1]/@type",
  );
  assertRefused(
    withDevices((devices) =>
      devices.controllers.push({ type: "scsi", index: 0, model: "ibmvscsi" })
    ),
    "/domain/devices/controller[1]/@model",
  );
});

Deno.test("scsiModels defaults needed SCSI controllers to the LSI model", () => {
  const models = scsiModels([{ type: "scsi", index: 1, model: "virtio-scsi" }], [
    { type: "scsi", index: 0 },
    { type: "scsi", index: 1 },
  ]);
  assert.deepEqual([...models], [[1, "virtio-scsi"], [0, SCSI_MODEL_DEFAULT]]);
});

Deno.test("ICH9 UHCI companions follow their EHCI master on the command line, whatever the XML order", () => {
  const definition = withDevices((devices) => {
    devices.controllers = [
      { type: "usb", index: 0, model: "ich9-uhci1" },
      { type: "usb", index: 0, model: "ich9-ehci1" },
    ];
  });
  const devices = valuesOf(build(definition).args, "-device");
  const master = devices.findIndex((device) => device.startsWith("ich9-usb-ehci1,"));
  const companion = devices.findIndex((device) => device.startsWith("ich9-usb-uhci1,"));
  assert.ok(master >= 0 && master < companion, devices.join("\n"));
});
