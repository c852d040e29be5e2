import assert from "node:assert/strict";
import { formatDomainXml } from "../../../src/xml/format_domain.ts";
import { parseDomainXml } from "../../../src/xml/parse_domain.ts";
import { validateDomain } from "../../../src/xml/validate_domain.ts";
import { PERF_EVENT_NAMES } from "../../../src/model/perf_events.ts";

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
