/**
 * What the host crash test's worker and checker share: the domains and the random source.
 *
 * @module
 */

import { type DomainDefinition, emptyDevices } from "../../src/model/domain.ts";

/** Domains driven at once. */
export const CRASH_DOMAIN_COUNT = 6;

/** The definition of crash-test domain `index` (stable uuid, name `vm<index>`). */
export function crashDomainDefinition(index: number): DomainDefinition {
  return {
    type: "test",
    name: `vm${index}`,
    uuid: `c0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`,
    memoryKiB: 65536,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices: emptyDevices(),
  };
}

/** A small seeded random source (mulberry32), so a failing run can be repeated. */
export function crashRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
