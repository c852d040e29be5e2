import assert from "node:assert/strict";
import { parseDomainXml } from "../../../src/xml/mod.ts";
import { applyDomainDefaults } from "../../../src/model/domain_defaults.ts";
import { assertRefused, build, valuesOf } from "./_qemu_definitions.ts";

function domain(devices: string) {
  return applyDomainDefaults(parseDomainXml(
    `<domain type='qemu'><name>a</name><memory>65536</memory><os><type machine='pc'>hvm</type></os><devices>${devices}</devices></domain>`,
  ));
}

Deno.test("a SPICE display gets -spice with its port, address and image compression", () => {
  const line = build(domain(
    "<graphics type='spice' port='5931' autoport='no'><listen type='address' address='127.0.0.2'/>" +
      "<image compression='off'/></graphics>",
  ));
  assert.deepEqual(valuesOf(line.args, "-spice"), [
    "port=5931,addr=127.0.0.2,disable-ticketing=on,image-compression=off,seamless-migration=on",
  ]);
  assert.deepEqual(valuesOf(line.args, "-display"), []);
});

Deno.test("an automatic SPICE port is one nobody listens on", () => {
  const spice =
    valuesOf(build(domain("<graphics type='spice' autoport='yes'/>")).args, "-spice")[0];
  const port = Number(/port=(\d+)/.exec(spice)![1]);
  assert.ok(port >= 5900);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  listener.close();
  // A second start right after gets another port, before the first QEMU listens on its own.
  const again =
    valuesOf(build(domain("<graphics type='spice' autoport='yes'/>")).args, "-spice")[0];
  assert.notEqual(Number(/port=(\d+)/.exec(again)![1]), port);
});

Deno.test("a SPICE password is refused by attribute, never dropped", () => {
  assertRefused(
    domain("<graphics type='spice' port='5931' passwd='x'/>"),
    "/domain/devices/graphics[1]/@passwd",
  );
});

Deno.test("a p2p D-Bus display replaces -display none and needs no bus", () => {
  const line = build(domain("<graphics type='dbus' p2p='yes'/>"));
  assert.deepEqual(valuesOf(line.args, "-display"), ["dbus,p2p=on"]);
  assert.equal(line.privateBusAddress, undefined);
  assertRefused(
    domain("<graphics type='dbus' p2p='yes' address='unix:path=/run/bus'/>"),
    "/domain/devices/graphics[1]/@address",
  );
});

Deno.test("a D-Bus display with an address joins that bus", () => {
  const line = build(domain("<graphics type='dbus' address='unix:path=/run/bus'/>"));
  assert.deepEqual(valuesOf(line.args, "-display"), ["dbus,addr=unix:path=/run/bus"]);
  assert.equal(line.privateBusAddress, undefined);
});

Deno.test("a D-Bus display without p2p or address gets the domain's private bus", () => {
  const line = build(domain("<graphics type='dbus'/>"));
  const [display] = valuesOf(line.args, "-display");
  assert.match(display, /^dbus,addr=unix:path=\/.+\/dbus\.sock$/);
  assert.equal(`dbus,addr=${line.privateBusAddress}`, display);
});

Deno.test("USB redirection over spicevmc and a socket becomes usb-redir devices", () => {
  const line = build(domain(
    "<graphics type='spice' port='5931'/>" +
      "<redirdev bus='usb' type='tcp'><source mode='connect' host='localhost' service='4000'/></redirdev>" +
      "<redirdev bus='usb' type='spicevmc'/>",
  ));
  const chardevs = valuesOf(line.args, "-chardev");
  assert.ok(chardevs.includes("spicevmc,id=charredir1,name=usbredir"), chardevs.join("\n"));
  assert.ok(chardevs.some((chardev) => chardev.startsWith("socket,id=charredir0,")));
  const redirs = valuesOf(line.args, "-device").filter((device) => device.startsWith("usb-redir"));
  assert.deepEqual(redirs, [
    "usb-redir,chardev=charredir0,id=redir0,bus=usb.0",
    "usb-redir,chardev=charredir1,id=redir1,bus=usb.0",
  ]);
});

Deno.test("a spicevmc channel without a SPICE display is refused", () => {
  assertRefused(
    domain("<channel type='spicevmc'><target type='virtio'/></channel>"),
    "/domain/devices/channel[1]/@type",
    /needs a <graphics type='spice'> display/,
  );
  const line = build(domain(
    "<graphics type='spice' port='5931'/><channel type='spicevmc'><target type='virtio'/></channel>",
  ));
  assert.ok(valuesOf(line.args, "-chardev").includes("spicevmc,id=charchannel0,name=vdagent"));
  assert.ok(
    valuesOf(line.args, "-device").some((device) => device.includes("name=com.redhat.spice.0")),
  );
});
