import assert from "node:assert/strict";
import { VirtError } from "../../../src/model/errors.ts";
import { DOMAIN_NAME_MAX_BYTES, validateDomainName } from "../../../src/xml/validate_name.ts";

function refusal(name: string): [number, string, string | undefined] {
  try {
    validateDomainName(name);
  } catch (error) {
    assert.ok(error instanceof VirtError, `expected VirtError, got ${error}`);
    return [error.code, error.message, error.where];
  }
  assert.fail(`accepted ${JSON.stringify(name.slice(0, 40))}`);
}

Deno.test("validateDomainName refuses an empty name with libvirt's code 21", () => {
  assert.deepStrictEqual(refusal(""), [21, "missing name information", "/domain/name"]);
});

Deno.test("validateDomainName refuses '/' with code 27, as libvirt", () => {
  assert.deepStrictEqual(refusal("a/b"), [27, "name a/b cannot contain '/'", "/domain/name"]);
});

Deno.test("validateDomainName refuses a newline and characters XML cannot carry with code 35", () => {
  assert.deepStrictEqual(refusal("a\nb"), [35, "invalid char in name: \n", "/domain/name"]);
  assert.equal(refusal("a\u0000b")[0], 35);
  assert.equal(refusal("a\u001bb")[0], 35);
});

Deno.test("validateDomainName refuses '.' and '..', which no file can be named", () => {
  assert.equal(refusal(".")[0], 38);
  assert.match(refusal("..")[1], /Invalid argument$/);
});

Deno.test("validateDomainName accepts up to 247 bytes, as libvirt's QEMU driver", () => {
  assert.equal(DOMAIN_NAME_MAX_BYTES, 247);
  validateDomainName("y".repeat(247));
  validateDomainName("é".repeat(123)); // 246 bytes
  const [code, message] = refusal("z".repeat(248));
  assert.equal(code, 38);
  assert.match(message, /File name too long$/);
  assert.equal(refusal("é".repeat(124))[0], 38); // 248 bytes in 124 characters
});

Deno.test("validateDomainName quotes at most the start of a 64 KiB name", () => {
  const [code, message] = refusal("n".repeat(65536));
  assert.equal(code, 38);
  assert.ok(message.length < 300, `message of ${message.length} characters`);
});

Deno.test("validateDomainName accepts what libvirt accepts: spaces, tabs, dots inside", () => {
  for (const name of [" ", "a b", "a\tb", "...", ".hidden", "日本"]) validateDomainName(name);
});
