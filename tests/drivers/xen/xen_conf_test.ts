import assert from "node:assert/strict";
import { parseXenConf, XenConf, XenConfWriter } from "../../../drivers/xen/xen_conf.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

Deno.test("xen conf: numbers, strings of every quoting, nested lists and comments are read", () => {
  const settings = parseXenConf(
    '# a comment\nname = "guest" # trailing\nvcpus = 2; memory = -1\n' +
      'kernel = \'/boot/"k"\'\nextra = """two\nlines"""\n' +
      'vnuma = [ [ "pnode=0", "size=2" ],\n  [ "pnode=1", "size=2" ], ]\n',
  );
  assert.deepEqual(settings.map((setting) => setting.name), [
    "name",
    "vcpus",
    "memory",
    "kernel",
    "extra",
    "vnuma",
  ]);
  assert.deepEqual(settings[1].value, { kind: "number", value: 2 });
  assert.deepEqual(settings[2].value, { kind: "number", value: -1, signed: true });
  assert.deepEqual(settings[3].value, { kind: "string", value: '/boot/"k"' });
  assert.deepEqual(settings[4].value, { kind: "string", value: "two\nlines" });
  const vnuma = settings[5].value;
  assert.equal(vnuma.kind, "list");
  assert.equal(vnuma.kind === "list" && vnuma.items.length, 2);
});

Deno.test("xen conf: a syntax error is code 33 naming its line", () => {
  for (const text of ['name = "open\n', "a = 1\nb 2\n", "c = [ 1 2 ]\n", "= 1\n", "d = x\n"]) {
    assert.throws(() => parseXenConf(text), (error) => {
      assert.ok(isVirtError(error, ErrorCode.CONF_SYNTAX), String(error));
      assert.match((error as Error).message, /^line \d+: /);
      return true;
    });
  }
});

Deno.test("xen conf: typed getters follow libvirt (bool from '1', malformed numbers refused)", () => {
  const conf = new XenConf(parseXenConf('acpi = "1"\npae = "yes"\nmemory = "512"\nvcpus = "x"\n'));
  assert.equal(conf.bool("acpi", 0), 1);
  assert.equal(conf.bool("pae", 1), 0);
  assert.equal(conf.bool("absent", 7), 7);
  assert.equal(conf.unsigned("memory", 0), 512);
  assert.throws(() => conf.unsigned("vcpus", 1), /config value vcpus was malformed/);
});

Deno.test("xen conf: the writer quotes as libvirt and replaces a setting in place", () => {
  const out = new XenConfWriter();
  out.string("name", "g");
  out.number("vcpus", 1);
  out.string("quote", 'say "hi"');
  out.strings("disk", ["a", "b"]);
  out.number("vcpus", 2);
  assert.equal(
    out.text(),
    'name = "g"\nvcpus = 2\nquote = \'say "hi"\'\ndisk = [ "a", "b" ]\n',
  );
});

Deno.test("xen conf: a negative number is malformed where libvirt wants an unsigned or boolean", () => {
  const conf = new XenConf(parseXenConf("rtc_timeoffset = -3600\nacpi = -1\nvcpus = 2\n"));
  assert.throws(
    () => conf.unsigned("rtc_timeoffset", 0),
    /config value rtc_timeoffset was malformed/,
  );
  assert.throws(() => conf.bool("acpi", 1), /config value acpi was malformed/);
  assert.equal(conf.unsigned("vcpus", 1), 2);
});
