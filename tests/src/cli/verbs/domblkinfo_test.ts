import assert from "node:assert/strict";
import { runFresh, withHarness, withTempFile } from "../_cli_harness.ts";

Deno.test("domblkinfo of a shut off test domain answers libvirt's test driver's figures", async () => {
  await withHarness(async (harness) => {
    await harness.run("destroy", "test");
    const result = await harness.run("domblkinfo", "test", "vda");
    assert.equal(result.code, 0);
    // As libvirt's test driver in every state: a capacity a little under the 1 TiB file.
    assert.equal(
      result.stdout,
      "Capacity:       1099506450432\nAllocation:     1099511627776\nPhysical:       1099511627776\n\n",
    );
    const all = await harness.run("domblkinfo", "test", "--all", "--human");
    assert.equal(
      all.stdout,
      " Target   Capacity       Allocation   Physical\n" +
        "-------------------------------------------------\n" +
        " vda      1023.995 GiB   1.000 TiB    1.000 TiB\n\n",
    );
  });
});

Deno.test("domblkinfo of a running test domain answers libvirt's test driver's figures", async () => {
  const result = await runFresh(["domblkinfo", "test", "/guest/diskimage1"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    "Capacity:       1099506450432\nAllocation:     1099511627776\nPhysical:       1099511627776\n\n",
  );
});

Deno.test("domblkinfo names a disk the domain does not have", async () => {
  const result = await runFresh(["domblkinfo", "test", "vdz"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: invalid argument: invalid path vdz not assigned to domain\n");
});

Deno.test("domblkinfo needs a device or --all, not both", async () => {
  const missing = await runFresh(["domblkinfo", "test"]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "error: command 'domblkinfo' requires <device> option\n");
  const both = await runFresh(["domblkinfo", "test", "vda", "--all"]);
  assert.equal(both.code, 1);
  assert.equal(both.stderr, "error: Options --all and --device are mutually exclusive\n");
});

// The disks in libvirt's order: by target name within their bus (virsh -c test:///default lists
// this domain's disks vda, vdb, hdc too).
Deno.test("domblkinfo --all shows '-' for a CD-ROM without medium and a network disk", async () => {
  await withHarness(async (harness) => {
    const xml = `<domain type='test'>
  <name>disks</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/images/a.raw'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>
    <disk type='network' device='disk'>
      <source protocol='nbd' name='export'><host name='storage' port='10809'/></source>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>
`;
    await withTempFile(xml, async (path) => {
      assert.equal((await harness.run("define", path)).code, 0);
    });
    const result = await harness.run("domblkinfo", "disks", "--all");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      " Target   Capacity        Allocation      Physical\n" +
        "---------------------------------------------------------\n" +
        " vda      1099506450432   1099511627776   1099511627776\n" +
        " vdb      -               -               -\n" +
        " hdc      -               -               -\n\n",
    );
  });
});
