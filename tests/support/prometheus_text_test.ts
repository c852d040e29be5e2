import assert from "node:assert/strict";
import { missing, testIf } from "./environment.ts";
import { parsePrometheusText } from "./prometheus_text.ts";

const GOOD = [
  "# HELP a_total Counts.\\n and \\\\.",
  "# TYPE a_total counter",
  'a_total{b="x \\"y\\"\\n",c=""} 1.5e+3',
  "a_total 2 1700000000000",
  "# TYPE g gauge",
  "g NaN",
  'g{l="1"} +Inf',
  'g{l="2"} -Inf',
  "",
].join("\n");

/** Expositions the format forbids, and why. */
const BAD: [string, string][] = [
  ['# TYPE a gauge\na{b="c} 1\n', "unterminated label value"],
  ["# TYPE a gauge\na{b=c} 1\n", "label value not quoted"],
  ["# TYPE a gauge\na one\n", "value 'one' is not a float"],
  ['# TYPE a gauge\na{b="1",b="2"} 1\n', "label 'b' twice"],
  ["# TYPE a gauge\n# TYPE a gauge\na 1\n", "second TYPE"],
  ["# TYPE a gauge\na 1\na 2\n", "series written twice"],
  ['# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 1\n', "split in two"],
  ["# TYPE a gauge\na 1", "must end with"],
  ["# TYPE a gauge\n1a 1\n", "bad metric name"],
  ['# TYPE a gauge\na{b="\\t"} 1\n', "bad escape"],
  ["# TYPE a gauge\na  1\n", "expected one space"],
  ["# TYPE a sometimes\na 1\n", "unknown type"],
];

Deno.test("the strict reader reads every part of a valid exposition", () => {
  const families = parsePrometheusText(GOOD);
  const counter = families.get("a_total")!;
  assert.equal(counter.type, "counter");
  assert.equal(counter.help, "Counts.\n and \\.");
  assert.deepEqual(counter.samples[0], {
    name: "a_total",
    labels: { b: 'x "y"\n', c: "" },
    value: 1500,
  });
  assert.deepEqual(families.get("g")!.samples.map((sample) => sample.value), [
    NaN,
    Infinity,
    -Infinity,
  ]);
});

Deno.test("the strict reader refuses what the format forbids, naming the problem", () => {
  for (const [text, problem] of BAD) {
    assert.throws(() => parsePrometheusText(text), new RegExp(problem), JSON.stringify(text));
  }
});

testIf(
  "promtool agrees with the strict reader on the valid and invalid expositions",
  missing("promtool"),
  async () => {
    const check = async (text: string) => {
      const child = new Deno.Command("promtool", {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(text));
      await writer.close();
      const output = await child.output();
      return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
    };
    const good = await check(GOOD);
    assert.doesNotMatch(good.stderr, /error while linting|parse/i, good.stderr);
    for (const [text] of BAD) {
      const bad = await check(text);
      assert.notEqual(bad.code, 0, `promtool accepts ${JSON.stringify(text)}`);
    }
  },
);
