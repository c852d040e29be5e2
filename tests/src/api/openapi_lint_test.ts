/**
 * The served OpenAPI document passes Redocly's CLI (`@redocly/cli` from npm, run by `npx` with
 * its recommended rules) with no error and no warning. Skipped, counted, without `npx`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withTestCore } from "../../support/test_core.ts";
import { missing, testIf } from "../../support/environment.ts";

/** The pinned Redocly CLI (2.77.0 installs here; see the README's dependency list). */
const REDOCLY = "@redocly/cli@2.77.0";
/** Longest the lint may take, fetching the CLI on a first run included, in ms. */
const LINT_TIMEOUT_MS = 300_000;

testIf(
  "redocly lint passes the served OpenAPI document with no error or warning",
  missing("npx"),
  async () => {
    const document = await withTestCore(async (service) => {
      const response = await service.api.handle(
        new Request("http://evirt/v1/openapi.json"),
        "read-only",
      );
      assert.equal(response.status, 200);
      return await response.text();
    });
    const dir = await Deno.makeTempDir({ prefix: "evirt-openapi-" });
    try {
      await Deno.writeTextFile(`${dir}/openapi.json`, document);
      const output = await new Deno.Command("npx", {
        args: [
          "-y",
          REDOCLY,
          "lint",
          `${dir}/openapi.json`,
          "--format=json",
          "--max-problems=1000",
        ],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(LINT_TIMEOUT_MS),
      }).output();
      const stdout = new TextDecoder().decode(output.stdout);
      const report = JSON.parse(stdout) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
      };
      const problems = report.problems.map((problem) =>
        `${problem.ruleId}: ${problem.message} (${problem.location[0]?.pointer})`
      );
      assert.deepEqual(problems, []);
      assert.deepEqual(report.totals, { ...report.totals, errors: 0, warnings: 0 });
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
