import assert from "node:assert/strict";
import { ArgumentError, parseVerbArguments } from "../../../src/cli/arguments.ts";
import { metadataScope, SCOPE_OPTIONS } from "../../../src/cli/metadata_scope.ts";

const scope = (...words: string[]) =>
  metadataScope(parseVerbArguments("desc", SCOPE_OPTIONS, words));

Deno.test("metadataScope passes --live and --config, and nothing for --current", () => {
  assert.deepEqual(scope(), {});
  assert.deepEqual(scope("--current"), {});
  assert.deepEqual(scope("--live"), { live: true });
  assert.deepEqual(scope("--live", "--config"), { live: true, config: true });
});

Deno.test("metadataScope refuses --current with --live or --config", () => {
  assert.throws(
    () => scope("--current", "--config"),
    (error: Error) =>
      error instanceof ArgumentError &&
      error.message === "Options --current and --config are mutually exclusive",
  );
});
