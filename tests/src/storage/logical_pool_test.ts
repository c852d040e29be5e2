import assert from "node:assert/strict";
import {
  lvcreateArgv,
  lvsArgv,
  parseLvs,
  parseVgs,
  vgchangeArgv,
  vgcreateArgv,
  vgsArgv,
  volumesOfLvs,
} from "../../../src/storage/logical_pool.ts";
import { parsePoolXml } from "../../../src/xml/parse_storage_pool.ts";
import { corpusDir, missing, testIf } from "../../support/environment.ts";

const POOL_ARGV_DIR = `${corpusDir}/storagepoolxml2argvdata`;
const POOL_XML_DIR = `${corpusDir}/storagepoolxml2xmlin`;

/** libvirt's expected command line, program name included. */
function expectedArgv(name: string): string[] {
  const text = Deno.readTextFileSync(`${POOL_ARGV_DIR}/${name}.argv`);
  return text.replace(/\\\n/g, " ").trim().split(/\s+/);
}

for (const name of ["pool-logical", "pool-logical-noname"]) {
  testIf(
    `the start command of ${name}.xml is libvirt's (vgchange -aly)`,
    missing(`${POOL_ARGV_DIR}/${name}.argv`),
    () => {
      const definition = parsePoolXml(Deno.readTextFileSync(`${POOL_XML_DIR}/${name}.xml`));
      assert.deepEqual(vgchangeArgv(definition, true), expectedArgv(name));
    },
  );
}

const POOL = parsePoolXml(
  `<pool type='logical'><name>vg1</name><source><device path='/dev/loop7'/>` +
    `<device path='/dev/loop8'/></source><target><path>/dev/vg1</path></target></pool>`,
);

Deno.test("vgcreate names the volume group and every source device; vgchange -aln stops it", () => {
  assert.deepEqual(vgcreateArgv(POOL), ["vgcreate", "vg1", "/dev/loop7", "/dev/loop8"]);
  assert.deepEqual(vgchangeArgv(POOL, false), ["vgchange", "-aln", "vg1"]);
});

Deno.test("lvs and vgs are asked for libvirt's fields, in bytes, without headings", () => {
  assert.equal(
    lvsArgv(POOL).join(" "),
    "lvs --separator # --noheadings --units b --unbuffered --nosuffix --options " +
      "lv_name,origin,uuid,devices,segtype,stripes,seg_size,vg_extent_size,size,lv_attr vg1",
  );
  assert.equal(
    vgsArgv(POOL).join(" "),
    "vgs --separator : --noheadings --units b --unbuffered --nosuffix --options vg_size,vg_free vg1",
  );
});

Deno.test("lvcreate: a fully allocated volume is linear, sizes in KiB rounded up", () => {
  assert.deepEqual(
    lvcreateArgv(POOL, { name: "a", capacityBytes: 5 * 1024 ** 3, allocationBytes: 5 * 1024 ** 3 }),
    ["lvcreate", "--name", "a", "-L", "5242880K", "vg1", "--yes"],
  );
  assert.deepEqual(
    lvcreateArgv(POOL, { name: "b", capacityBytes: 1025, allocationBytes: 1025 }),
    ["lvcreate", "--name", "b", "-L", "2K", "vg1", "--yes"],
  );
});

Deno.test("lvcreate: an allocation below the capacity makes a sparse snapshot with a virtual size", () => {
  assert.deepEqual(
    lvcreateArgv(POOL, { name: "s", capacityBytes: 1024 ** 3, allocationBytes: 0 }),
    [
      "lvcreate",
      "--name",
      "s",
      "-L",
      "1K",
      "--type",
      "snapshot",
      "--virtualsize",
      "1048576K",
      "vg1",
      "--yes",
    ],
  );
  assert.deepEqual(
    lvcreateArgv(POOL, {
      name: "c",
      capacityBytes: 4096,
      allocationBytes: 4096,
      backingPath: "/dev/vg1/base",
    }),
    ["lvcreate", "--name", "c", "-L", "4K", "-s", "/dev/vg1/base", "--yes"],
  );
});

// libvirt's own example of lvs output (storage_backend_logical.c), plus an inactive volume
// and a thin pool, both of which it leaves out.
const LVS_OUTPUT = [
  "  RootLV##06UgP5-2rhb-w3Bo-3mdR-WeoL-pytO-SAa2ky#/dev/hda2(0)#linear#1#5234491392#33554432#5234491392#-wi-ao",
  "  Test2##3pg3he-mQsA-5Sui-h0i6-HNmc-Cz7W-QSndcR#/dev/hda2(219)#linear#1#1073741824#33554432#1073741824#owi-a-",
  "  Test3##UB5hFw-kmlm-LSoX-EI1t-ioVd-h7GL-M0W8Ht#/dev/hda2(251)#linear#1#2181038080#33554432#2181038080#-wi-a-",
  "  Test3#Test2#UB5hFw-kmlm-LSoX-EI1t-ioVd-h7GL-M0W8Ht#/dev/hda2(187)#linear#1#1040187392#33554432#1040187392#swi-a-",
  "  Off##aaaaaa-2rhb-w3Bo-3mdR-WeoL-pytO-SAa2ky#/dev/hda2(300)#linear#1#4194304#4194304#4194304#-wi---",
  "  Thin##bbbbbb-2rhb-w3Bo-3mdR-WeoL-pytO-SAa2ky#thin_tdata(0)#thin-pool#1#4194304#4194304#4194304#twi-a-tz--",
  "",
].join("\n");

Deno.test("lvs rows become volumes: active ones only, no thin pools, one per name", () => {
  const volumes = volumesOfLvs(POOL, parseLvs(LVS_OUTPUT));
  assert.deepEqual(volumes.map((volume) => volume.name), ["RootLV", "Test2", "Test3"]);
  assert.deepEqual(volumes[0], {
    name: "RootLV",
    type: "block",
    path: "/dev/vg1/RootLV",
    format: "raw",
    capacityBytes: 5234491392,
    allocationBytes: 5234491392,
    physicalBytes: 5234491392,
  });
});

Deno.test("a snapshot volume has its origin as backing store; a virtual-size origin is hidden", () => {
  const rows = parseLvs(
    "  S#[S_vorigin]#cccccc-2rhb#/dev/loop7(5)#snapshot#1#4194304#4194304#1073741824#swi-a-s---\n" +
      "  C#base#dddddd-2rhb#/dev/loop7(9)#linear#1#4194304#4194304#4194304#swi-a-s---\n",
  );
  const [c, s] = volumesOfLvs(POOL, rows);
  assert.equal(s.backingPath, undefined);
  assert.equal(s.sparse, true);
  assert.equal(c.backingPath, "/dev/vg1/base");
  assert.equal(c.backingFormat, "lvm2");
});

Deno.test("vgs output gives capacity, available and their difference as allocation", () => {
  assert.deepEqual(parseVgs("  10603200512:4328521728\n"), {
    capacityBytes: 10603200512n,
    availableBytes: 4328521728n,
    allocationBytes: 6274678784n,
  });
  assert.throws(() => parseVgs("  Volume group not found\n"), { code: 1 });
});
