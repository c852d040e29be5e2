import assert from "node:assert/strict";
import { refuseConfig, refuseExtra } from "../../../drivers/qemu/config_refusal.ts";
import { ErrorCode } from "../../../src/model/errors.ts";

function refusalOf(fn: () => void): { where?: string; message: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error as { where?: string; message: string };
  }
}

Deno.test("refuseConfig makes a code 67 error naming the place", () => {
  const error = refuseConfig("/domain/x", "x is not supported");
  assert.equal(error.code, ErrorCode.CONFIG_UNSUPPORTED);
  assert.equal(error.where, "/domain/x");
});

Deno.test("refuseExtra names unknown attributes, elements, text and flattened leftovers", () => {
  assert.equal(refusalOf(() => refuseExtra({ attributes: { foo: "1" } }, "/d"))?.where, "/d/@foo");
  assert.equal(
    refusalOf(() => refuseExtra({ elements: [{ element: { name: "bar" } }] }, "/d"))?.where,
    "/d/bar",
  );
  assert.equal(refusalOf(() => refuseExtra({ text: "hi" }, "/d"))?.where, "/d");
  assert.equal(
    refusalOf(() => refuseExtra({ children: { "mac[2]": { attributes: { check: "no" } } } }, "/d"))
      ?.where,
    "/d/mac[2]/@check",
  );
});

Deno.test("refuseExtra accepts namespace declarations, blank text and what the caller handles", () => {
  assert.equal(refusalOf(() => refuseExtra(undefined, "/d")), undefined);
  assert.equal(
    refusalOf(() => refuseExtra({ attributes: { "xmlns:qemu": "urn" }, text: "  " }, "/d")),
    undefined,
  );
  assert.equal(
    refusalOf(() =>
      refuseExtra({ elements: [{ element: { name: "pm" } }] }, "/d", {
        elements: (n) => n === "pm",
      })
    ),
    undefined,
  );
});
