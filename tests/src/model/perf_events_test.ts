import assert from "node:assert/strict";
import { formatDomainXml } from "../../../src/xml/format_domain.ts";
import { parseDomainXml } from "../../../src/xml/parse_domain.ts";
import { validateDomain } from "../../../src/xml/validate_domain.ts";
import {
  checkPerfSettings,
  enabledPerfEvents,
  PERF_EVENT_NAMES,
  withPerfSettings,
} from "../../../src/model/perf_events.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

function domain(perf: string): string {
  return `<domain type='qemu'><name>p</name><memory>131072</memory><os><type>hvm</type></os>` +
    `${perf}<devices/></domain>`;
}

Deno.test("<perf> events are typed in the model and written in libvirt's order", () => {
  const def = parseDomainXml(
    domain(
      "<perf><event name='page_faults' enabled='no'/><event name='cmt' enabled='yes'/></perf>",
    ),
  );
  assert.deepEqual(def.perf, [
    { name: "page_faults", enabled: "no" },
    { name: "cmt", enabled: "yes" },
  ]);
  assert.equal(def.extra?.elements?.some(({ element }) => element.name === "perf") ?? false, false);
  assert.match(
    formatDomainXml(def),
    /<perf>\n {4}<event name='cmt' enabled='yes'\/>\n {4}<event name='page_faults' enabled='no'\/>\n {2}<\/perf>\n {2}<devices>/,
  );
});

Deno.test("every libvirt perf event name is accepted", () => {
  const events = PERF_EVENT_NAMES.map((name) => `<event name='${name}' enabled='yes'/>`).join("");
  const def = parseDomainXml(domain(`<perf>${events}</perf>`));
  validateDomain(def);
  assert.equal(def.perf?.length, 22);
});

Deno.test("a bad perf event is refused as libvirt's parser refuses it (code 27)", () => {
  const cases: [string, string][] = [
    ["<event name='nope' enabled='yes'/>", "'unsupported perf event 'nope'"],
    [
      "<event name='cmt' enabled='yes'/><event name='cmt' enabled='no'/>",
      "perf event 'cmt' was already specified",
    ],
    [
      "<event name='cmt' enabled='maybe'/>",
      "Invalid value for attribute 'enabled' in element 'event': 'maybe'.",
    ],
  ];
  for (const [events, message] of cases) {
    assert.throws(() => validateDomain(parseDomainXml(domain(`<perf>${events}</perf>`))), {
      code: 27,
      message,
    });
  }
});

Deno.test("checkPerfSettings walks the settings sorted by name, as virTypedParamsValidate", () => {
  checkPerfSettings([{ name: "task_clock", enabled: true }, { name: "cpu_clock", enabled: false }]);
  assert.throws(
    () => checkPerfSettings([{ name: "zzz", enabled: true }, { name: "cmt", enabled: true }]),
    (error) =>
      isVirtError(error, ErrorCode.ARGUMENT_UNSUPPORTED) &&
      error.message === "parameter 'zzz' not supported",
  );
  // Sorted, the repeated cmt comes before the unknown foo.
  assert.throws(
    () =>
      checkPerfSettings([
        { name: "foo", enabled: true },
        { name: "cmt", enabled: true },
        { name: "cmt", enabled: false },
      ]),
    (error) =>
      isVirtError(error, ErrorCode.INVALID_ARG) &&
      error.message === "parameter 'cmt' occurs multiple times",
  );
  assert.throws(
    () => checkPerfSettings([{ name: "cmt", enabled: true, type: "int" }]),
    (error) =>
      isVirtError(error, ErrorCode.INVALID_ARG) &&
      error.message === "invalid type 'int' for parameter 'cmt', expected 'boolean'",
  );
});

Deno.test("withPerfSettings keeps a switched-off event as 'no', in libvirt's order", () => {
  assert.deepEqual(
    withPerfSettings([{ name: "task_clock", enabled: "yes" }], [
      { name: "task_clock", enabled: false },
      { name: "cmt", enabled: true },
    ]),
    [{ name: "cmt", enabled: "yes" }, { name: "task_clock", enabled: "no" }],
  );
  assert.deepEqual(
    enabledPerfEvents([{ name: "task_clock", enabled: "yes" }, { name: "cmt", enabled: "no" }]),
    ["task_clock"],
  );
});
