import assert from "node:assert/strict";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { formatSnapshotXml } from "../../../src/xml/format_snapshot.ts";
import { parseSnapshotXml } from "../../../src/xml/parse_snapshot.ts";

function refused(xml: string, code: number, message: RegExp, options = {}): void {
  assert.throws(
    () => parseSnapshotXml(xml, options),
    (error) => isVirtError(error) && error.code === code && message.test(error.message),
  );
}

Deno.test("a user's document: name, description, disks with their defaults", () => {
  const { definition } = parseSnapshotXml(
    "<domainsnapshot><name>s</name><description>d</description><disks>" +
      "<disk name='vda'/><disk name='vdb' snapshot='no'/>" +
      "<disk name='vdc'><source file='/x/new.qcow2'/></disk></disks></domainsnapshot>",
  );
  assert.equal(definition.name, "s");
  assert.equal(definition.disks[0].snapshot, undefined);
  assert.equal(definition.disks[1].snapshot, "no");
  assert.equal(definition.disks[2].snapshot, "external");
  assert.equal(definition.disks[2].path, "/x/new.qcow2");
});

Deno.test("a user's document ignores state, time and domain (only a redefinition reads them)", () => {
  const { definition } = parseSnapshotXml(
    "<domainsnapshot><state>running</state><creationTime>5</creationTime></domainsnapshot>",
  );
  assert.equal(definition.state, undefined);
  assert.equal(definition.creationTimeSeconds, undefined);
});

Deno.test("bad documents are refused with libvirt's codes and messages", () => {
  refused("<domain/>", ErrorCode.XML_ERROR, /domainsnapshot/);
  refused("<domainsnapshot><bogus/></domainsnapshot>", ErrorCode.CONFIG_UNSUPPORTED, /bogus/);
  refused("<domainsnapshot><memory file='rel'/></domainsnapshot>", ErrorCode.XML_ERROR, /absolute/);
  refused(
    "<domainsnapshot><memory snapshot='internal' file='/m'/></domainsnapshot>",
    ErrorCode.XML_ERROR,
    /requires external snapshot/,
  );
  refused(
    "<domainsnapshot><memory snapshot='manual'/></domainsnapshot>",
    ErrorCode.XML_ERROR,
    /'manual' memory snapshot mode not supported/,
  );
  refused(
    "<domainsnapshot><memory snapshot='internal'/></domainsnapshot>",
    ErrorCode.XML_ERROR,
    /offline or disk-only/,
    { offline: true },
  );
  refused(
    "<domainsnapshot><disks><disk snapshot='no'/></disks></domainsnapshot>",
    ErrorCode.INTERNAL_ERROR,
    /missing name from disk snapshot element/,
  );
  refused(
    "<domainsnapshot><disks><disk name='vda' type='dir'/></disks></domainsnapshot>",
    ErrorCode.XML_ERROR,
    /unsupported disk snapshot type 'dir'/,
  );
  refused(
    "<domainsnapshot><disks><disk name='vda'><driver type='nope'/></disk></disks></domainsnapshot>",
    ErrorCode.CONFIG_UNSUPPORTED,
    /unknown disk snapshot driver 'nope'/,
  );
  refused("<domainsnapshot/>", ErrorCode.XML_ERROR, /must have a name/, { redefine: true });
  refused(
    "<domainsnapshot><name>n</name><state>running</state></domainsnapshot>",
    ErrorCode.INTERNAL_ERROR,
    /missing creationTime/,
    { redefine: true },
  );
  refused(
    "<domainsnapshot><name>n</name><creationTime>1</creationTime><state>odd</state></domainsnapshot>",
    ErrorCode.CONFIG_UNSUPPORTED,
    /Invalid state 'odd'/,
    { redefine: true },
  );
});

Deno.test("a stored record round-trips with its current mark", () => {
  const xml = "<domainsnapshot>\n  <name>n</name>\n  <state>shutoff</state>\n  <parent>\n" +
    "    <name>p</name>\n  </parent>\n  <creationTime>7</creationTime>\n" +
    "  <memory snapshot='no'/>\n  <active>1</active>\n</domainsnapshot>\n";
  const { definition, current } = parseSnapshotXml(xml, { redefine: true, internal: true });
  assert.equal(current, true);
  assert.equal(definition.memory, "no");
  assert.equal(formatSnapshotXml(definition, { internal: true, current }), xml);
});
