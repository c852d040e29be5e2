import assert from "node:assert/strict";
import { parseDomainXml } from "../../../src/xml/mod.ts";
import { applyDomainDefaults } from "../../../src/model/domain_defaults.ts";
import { assertRefused, build, valuesOf } from "./_qemu_definitions.ts";

function domain(devices: string) {
  return applyDomainDefaults(parseDomainXml(
    `<domain type='qemu'><name>a</name><memory>65536</memory><os><type machine='pc'>hvm</type></os><devices>${devices}</devices></domain>`,
  ));
}

Deno.test("a passthrough smartcard is a chardev and ccid-card-passthru after its USB CCID controller", () => {
  const line = build(domain(
    "<smartcard mode='passthrough' type='tcp'><source mode='bind' host='127.0.0.1' service='2001'/></smartcard>",
  ));
  assert.ok(
    valuesOf(line.args, "-chardev").some((chardev) =>
      chardev.startsWith("socket,id=charsmartcard0,")
    ),
  );
  const devices = valuesOf(line.args, "-device");
  const usb = devices.findIndex((device) => device.includes("id=usb,"));
  const ccid = devices.indexOf("usb-ccid,id=ccid0,bus=usb.0");
  assert.ok(usb >= 0 && usb < ccid, devices.join("\n"));
  assert.ok(
    devices.includes("ccid-card-passthru,chardev=charsmartcard0,id=smartcard0,bus=ccid0.0"),
  );
});

Deno.test("emulated smartcards are refused by mode", () => {
  assertRefused(domain("<smartcard mode='host'/>"), "/domain/devices/smartcard[1]/@mode");
});
