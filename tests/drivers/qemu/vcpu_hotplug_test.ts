import assert from "node:assert/strict";
import { parseDomainXml } from "../../../src/xml/mod.ts";
import { assertRefused, build, valuesOf } from "./_qemu_definitions.ts";

function domain(vcpus: string) {
  return parseDomainXml(
    `<domain type='qemu'><name>a</name><memory>65536</memory><vcpu current='3'>6</vcpu><vcpus>${vcpus}</vcpus>` +
      `<os><type machine='pc'>hvm</type></os><cpu><topology sockets='3' dies='1' cores='2' threads='1'/></cpu>` +
      `<devices/></domain>`,
  );
}

Deno.test("<vcpus> starts the cold vCPUs with -smp and adds the hotpluggable enabled ones as devices in order", () => {
  const line = build(domain(
    "<vcpu id='0' enabled='yes' hotpluggable='no' order='1'/>" +
      "<vcpu id='1' enabled='no' hotpluggable='yes'/><vcpu id='2' enabled='no' hotpluggable='yes'/>" +
      "<vcpu id='3' enabled='no' hotpluggable='yes'/>" +
      "<vcpu id='4' enabled='yes' hotpluggable='yes' order='3'/>" +
      "<vcpu id='5' enabled='yes' hotpluggable='yes' order='2'/>",
  ));
  assert.deepEqual(valuesOf(line.args, "-smp"), ["1,maxcpus=6,sockets=3,dies=1,cores=2,threads=1"]);
  assert.deepEqual(
    valuesOf(line.args, "-device").filter((device) => device.includes("-cpu,")),
    [
      "qemu64-x86_64-cpu,id=vcpu5,socket-id=2,core-id=1,thread-id=0",
      "qemu64-x86_64-cpu,id=vcpu4,socket-id=2,core-id=0,thread-id=0",
    ],
  );
});

Deno.test("<vcpus> whose cold vCPUs are not the first ids is refused", () => {
  assertRefused(
    domain(
      "<vcpu id='0' enabled='no' hotpluggable='yes'/><vcpu id='1' enabled='yes' hotpluggable='no'/>",
    ),
    "/domain/vcpus/vcpu[2]",
  );
});
