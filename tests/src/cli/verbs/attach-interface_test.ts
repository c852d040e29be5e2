import assert from "node:assert/strict";
import { interfaceXml } from "../../../../src/cli/verbs/attach-interface.ts";
import { runFresh } from "../_cli_harness.ts";

Deno.test("interfaceXml writes virsh 9.0's element, bandwidth included", () => {
  assert.equal(
    interfaceXml({
      type: "network",
      source: "default",
      target: "vnet9",
      mac: "52:54:00:aa:bb:cc",
      model: "virtio",
      inbound: "100,200,300,400",
      outbound: "10,20,30",
    }),
    "<interface type='network'>\n  <source network='default'/>\n  <target dev='vnet9'/>\n" +
      "  <mac address='52:54:00:aa:bb:cc'/>\n  <model type='virtio'/>\n  <bandwidth>\n" +
      "    <inbound average='100' peak='200' burst='300' floor='400'/>\n" +
      "    <outbound average='10' peak='20' burst='30'/>\n  </bandwidth>\n</interface>\n",
  );
});

Deno.test("interfaceXml writes a hostdev's PCI address and a vhostuser's socket as virsh", () => {
  assert.equal(
    interfaceXml({ type: "hostdev", source: "0000:00:07.1", managed: true }),
    "<interface type='hostdev' managed='yes'>\n  <source>\n" +
      "    <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x1'/>\n" +
      "  </source>\n</interface>\n",
  );
  assert.equal(
    interfaceXml({ type: "vhostuser", source: "/tmp/s", sourceMode: "server" }),
    "<interface type='vhostuser'>\n  <source type='unix' path='/tmp/s' mode='server'/>\n" +
      "</interface>\n",
  );
});

Deno.test("interfaceXml refuses what virsh refuses, with its words", () => {
  const cases: [Parameters<typeof interfaceXml>[0], string][] = [
    [{ type: "user", source: "x" }, "No support for user in command 'attach-interface'"],
    [{ type: "bogus", source: "x" }, "No support for bogus in command 'attach-interface'"],
    [{ type: "vhostuser", source: "/s" }, "source-mode is mandatory"],
    [{ type: "vhostuser", source: "/s", sourceMode: "x" }, "Invalid source mode: x"],
    [{ type: "hostdev", source: "zz" }, "cannot parse pci address 'zz' for network interface"],
    [{ type: "network", source: "d", inbound: "abc" }, "field 'average' is malformed"],
    [
      { type: "network", source: "d", inbound: "0,5" },
      "either inbound average or floor is mandatory",
    ],
    [{ type: "network", source: "d", outbound: "1,2,3,4" }, "outbound floor is unsupported yet"],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => interfaceXml(options), (error) => (error as Error).message === message);
  }
});

Deno.test("attach-interface refuses a user-mode interface before asking the service", async () => {
  const result = await runFresh(["attach-interface", "test", "user", "x"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: No support for user in command 'attach-interface'\n");
});

Deno.test("attach-interface --print-xml prints the element only", async () => {
  const result = await runFresh(["attach-interface", "test", "bridge", "br0", "--print-xml"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    "<interface type='bridge'>\n  <source bridge='br0'/>\n</interface>\n\n",
  );
});
