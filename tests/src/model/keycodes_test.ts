import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  checkKeys,
  codesetNumber,
  codesetOfNumber,
  linuxToQnumber,
  parseKey,
  toLinux,
} from "../../../src/model/keycodes.ts";
import { isVirtError } from "../../../src/model/errors.ts";

Deno.test("parseKey reads the codeset's names, then decimal, hex and octal numbers", () => {
  assert.equal(parseKey("linux", "KEY_A"), 30);
  assert.equal(parseKey("win32", "VK_RETURN"), 13);
  assert.equal(parseKey("xt", "0x1e"), 30);
  assert.equal(parseKey("xt", "036"), 30);
  assert.equal(parseKey("usb", "4"), 4);
  assert.throws(() => parseKey("linux", "KEY_NOPE"), /invalid keycode: 'KEY_NOPE'/);
  assert.throws(() => parseKey("usb", "KEY_A"), /invalid keycode: 'KEY_A'/);
  assert.throws(() => parseKey("linux", "0x10000"), /invalid keycode/);
});

Deno.test("toLinux and linuxToQnumber translate through the tables", () => {
  assert.equal(toLinux("linux", 30), 30);
  assert.equal(toLinux("usb", 4), 30);
  assert.equal(toLinux("qnum", 0xc8), 103);
  assert.equal(toLinux("rfb", 0xc8), 103);
  assert.equal(toLinux("xt", 101), 87);
  assert.equal(toLinux("win32", 13), 28);
  assert.equal(toLinux("linux", 999), undefined);
  assert.equal(toLinux("os_x", 0), undefined);
  assert.equal(linuxToQnumber(30), 30);
  assert.equal(linuxToQnumber(103), 0xc8);
});

Deno.test("checkKeys refuses a wrong count and a code outside the codeset, as libvirt", () => {
  assert.deepEqual(checkKeys("linux", [29, 56, 111]), [29, 56, 111]);
  assert.throws(() => checkKeys("linux", []), /greater than zero/);
  assert.throws(() => checkKeys("linux", new Array(17).fill(30)), /must be <= 16/);
  try {
    checkKeys("linux", [999]);
    assert.fail("accepted");
  } catch (error) {
    assert.ok(isVirtError(error, 1));
    assert.equal((error as Error).message, "invalid keycode 999 of linux codeset");
  }
});

Deno.test("codeset numbers are libvirt's virKeycodeSet values, rfb being qnum", () => {
  assert.equal(codesetNumber("linux"), 0);
  assert.equal(codesetNumber("usb"), 7);
  assert.equal(codesetNumber("win32"), 8);
  assert.equal(codesetNumber("qnum"), 9);
  assert.equal(codesetNumber("rfb"), 9);
  assert.equal(codesetOfNumber(9), "qnum");
  assert.equal(codesetOfNumber(10), undefined);
});

const MAN_DIR = "/usr/share/man/man7";
const pagesPresent = (() => {
  try {
    return Deno.statSync(`${MAN_DIR}/virkeycode-qnum.7.gz`).isFile;
  } catch {
    return false;
  }
})();
if (!pagesPresent) console.log(`skipped: ${MAN_DIR}/virkeycode-*.7.gz are absent (libvirt docs)`);

/** The (code, key name) pairs a virkeycode-SET(7) page lists. */
function pagePairs(set: string): [number, string][] {
  const text = new TextDecoder().decode(
    gunzipSync(Deno.readFileSync(`${MAN_DIR}/virkeycode-${set}.7.gz`)),
  );
  return [...text.matchAll(/^(\d+) \(0x[0-9a-f]+\)\n\.sp\nKey name (\S+)/gm)].map((match) => [
    Number(match[1]),
    match[2],
  ]);
}

Deno.test({
  name: "the key code tables agree with libvirt's virkeycode(7) pages",
  ignore: !pagesPresent,
  fn() {
    const linux = new Map<string, number>();
    for (const [code, name] of pagePairs("linux")) {
      if (name === "unnamed") continue; // a placeholder the page repeats for unnamed codes
      if (!linux.has(name)) linux.set(name, code);
      assert.equal(parseKey("linux", name), linux.get(name), name);
    }
    const sets = {
      atset1: "atset1",
      atset2: "atset2",
      atset3: "atset3",
      xtkbd: "xt_kbd",
      usb: "usb",
      qnum: "qnum",
    } as const;
    for (const [page, codeset] of Object.entries(sets)) {
      const seen = new Set<number>();
      for (const [code, name] of pagePairs(page)) {
        if (seen.has(code) || !linux.has(name)) continue;
        seen.add(code);
        assert.equal(toLinux(codeset, code), linux.get(name), `${page} ${code} ${name}`);
      }
      assert.ok(seen.size > 100, `${page}: ${seen.size} codes`);
    }
    // A name listed at several codes is read as its first (lowest) code, as libvirt looks it up.
    const win32 = new Map<string, number>();
    for (const [code, name] of pagePairs("win32")) if (!win32.has(name)) win32.set(name, code);
    for (const [name, code] of win32) assert.equal(parseKey("win32", name), code, name);
  },
});
