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

Deno.test("a host smartcard is an NSS-emulated ccid-card-emulated on its CCID bus", () => {
  const line = build(domain("<smartcard mode='host'/>"));
  // The host's NSS database is checked before start: without it QEMU cannot start the card.
  assert.deepEqual(line.hostPaths, [
    { path: "/etc/pki/nssdb", kind: "directory", where: "/domain/devices/smartcard[1]/@mode" },
  ]);
  const devices = valuesOf(line.args, "-device");
  assert.ok(devices.includes("usb-ccid,id=ccid0,bus=usb.0"), devices.join("\n"));
  assert.ok(
    devices.includes("ccid-card-emulated,backend=nss-emulated,id=smartcard0,bus=ccid0.0"),
    devices.join("\n"),
  );
});

Deno.test("a host-certificates smartcard names its three certificates and its database", () => {
  const line = build(domain(
    "<smartcard mode='host-certificates'><certificate>a</certificate><certificate>b</certificate>" +
      "<certificate>c</certificate><database>/srv/nssdb</database></smartcard>",
  ));
  assert.ok(
    valuesOf(line.args, "-device").includes(
      "ccid-card-emulated,backend=certificates,cert1=a,cert2=b,cert3=c,db=/srv/nssdb,id=smartcard0,bus=ccid0.0",
    ),
  );
  assert.deepEqual(line.hostPaths.filter((path) => path.path === "/srv/nssdb"), [
    { path: "/srv/nssdb", kind: "directory", where: "/domain/devices/smartcard[1]/database" },
  ]);
  const withoutDatabase = build(domain(
    "<smartcard mode='host-certificates'><certificate>a</certificate><certificate>b</certificate>" +
      "<certificate>c</certificate></smartcard>",
  ));
  assert.ok(
    valuesOf(withoutDatabase.args, "-device").includes(
      "ccid-card-emulated,backend=certificates,cert1=a,cert2=b,cert3=c,id=smartcard0,bus=ccid0.0",
    ),
  );
});

Deno.test("smartcards of other modes or with a certificate list not three long are refused", () => {
  assertRefused(domain("<smartcard mode='remote'/>"), "/domain/devices/smartcard[1]/@mode");
  assertRefused(
    domain("<smartcard mode='host-certificates'><certificate>a</certificate></smartcard>"),
    "/domain/devices/smartcard[1]/certificate",
  );
});
