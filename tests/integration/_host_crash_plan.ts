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
