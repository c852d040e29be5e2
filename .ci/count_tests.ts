/**
 * Prints "N passed, N failed, N skipped" from a `deno test --junit-path` report.
 *
 * Counts top-level tests, as Deno's own summary does: a step's test case is named
 * "parent > step" and is left out (so top-level test names must not contain " > ").
 *
 * @module
 */

const [path] = Deno.args;
if (path === undefined) {
  console.error("usage: count_tests.ts REPORT.xml");
  Deno.exit(2);
}
const report = Deno.readTextFileSync(path);
let passed = 0;
let failed = 0;
let skipped = 0;
const testCase = /<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g;
for (const match of report.matchAll(testCase)) {
  if (match[1].includes(" &gt; ")) continue;
  const body = match[3] ?? "";
  if (/<failure|<error/.test(body)) failed++;
  else if (/<skipped/.test(body)) skipped++;
  else passed++;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
