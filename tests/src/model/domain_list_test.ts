import assert from "node:assert/strict";
import {
  compareForList,
  type DomainSummary,
  LIST_FILTER_NAMES,
  matchesListFilter,
  normalizeUuid,
} from "../../../src/model/domain_list.ts";
import { DomainState } from "../../../src/model/lifecycle.ts";

const summary = (overrides: Partial<DomainSummary>): DomainSummary => ({
  uuid: "00000000-0000-4000-8000-000000000001",
  name: "vm",
  id: null,
  state: DomainState.SHUTOFF,
  reason: 0,
  persistent: true,
  autostart: false,
  active: false,
  pendingFacts: null,
  ...overrides,
});

const running = summary({ name: "run", id: 1, state: DomainState.RUNNING, active: true });
const paused = summary({ name: "pause", id: 2, state: DomainState.PAUSED, active: true });
const off = summary({ name: "off", autostart: true });
const transient = summary({
  name: "temp",
  id: 3,
  state: DomainState.CRASHED,
  active: true,
  persistent: false,
});

Deno.test("matchesListFilter with no flag passes every domain", () => {
  for (const each of [running, paused, off, transient]) assert.ok(matchesListFilter(each, {}));
});

Deno.test("matchesListFilter treats both flags of a pair as alternatives", () => {
  assert.ok(matchesListFilter(off, { active: true, inactive: true }));
  assert.ok(!matchesListFilter(off, { active: true }));
  assert.ok(matchesListFilter(transient, { transient: true }));
  assert.ok(!matchesListFilter(transient, { persistent: true }));
  assert.ok(matchesListFilter(off, { autostart: true }));
  assert.ok(!matchesListFilter(off, { noAutostart: true }));
});

Deno.test("matchesListFilter's state flags are alternatives; 'other' is any other state", () => {
  assert.ok(matchesListFilter(running, { running: true, paused: true }));
  assert.ok(matchesListFilter(paused, { running: true, paused: true }));
  assert.ok(!matchesListFilter(off, { running: true, paused: true }));
  assert.ok(matchesListFilter(transient, { other: true }));
  assert.ok(!matchesListFilter(running, { other: true }));
});

Deno.test("matchesListFilter requires every group to hold", () => {
  assert.ok(!matchesListFilter(paused, { active: true, running: true }));
  assert.ok(matchesListFilter(paused, { active: true, paused: true, persistent: true }));
});

Deno.test("LIST_FILTER_NAMES names every filter once, in libvirt's flag order", () => {
  assert.equal(new Set(LIST_FILTER_NAMES).size, 12);
  assert.equal(LIST_FILTER_NAMES[0], "active");
  assert.equal(LIST_FILTER_NAMES.at(-1), "noAutostart");
});

Deno.test("compareForList puts active domains by id first, then inactive ones by name", () => {
  const b = summary({ name: "b" });
  const a = summary({ name: "a" });
  const sorted = [b, transient, off, running, a, paused].sort(compareForList);
  assert.deepEqual(sorted.map((each) => each.name), ["run", "pause", "temp", "a", "b", "off"]);
});

Deno.test("normalizeUuid accepts dashed or compact uuids in any case and refuses others", () => {
  const canonical = "6695eb01-f6a4-4304-aaa9-7eea4df0d8b0";
  assert.equal(normalizeUuid("6695EB01F6A44304AAA97EEA4DF0D8B0"), canonical);
  assert.equal(normalizeUuid(` ${canonical} `), canonical);
  assert.equal(normalizeUuid("6695eb01-f6a4-4304-aaa9"), undefined);
  assert.equal(normalizeUuid("web"), undefined);
  assert.equal(normalizeUuid(`${canonical}0`), undefined);
});
