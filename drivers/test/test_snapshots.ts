/**
 * Snapshots of the test hypervisor, as libvirt's test driver keeps them: as metadata only. Its
 * disks are simulated (every image a fully written file of fixed size, see `test_driver.ts`), so
 * a snapshot has no image content to keep or bring back; the domain's definition, state and
 * snapshot tree (the log's facts) are all there is, and reverting restores those. Like libvirt's
 * test driver it takes no disk-only (external) and no metadata-less snapshots (code 8).
 *
 * @module
 */

import type { SnapshotDriver } from "../../actors/driver_protocol.ts";

/**
 * The test hypervisor's snapshots.
 *
 * @example
 * ```ts
 * import { TEST_SNAPSHOTS } from "./test_snapshots.ts";
 * console.log(TEST_SNAPSHOTS.createFunction); // "testDomainSnapshotCreateXML"
 * ```
 */
export const TEST_SNAPSHOTS: SnapshotDriver = {
  keepsInactiveDefinition: false,
  createFunction: "testDomainSnapshotCreateXML",
  deleteFunction: "testDomainSnapshotDelete",
  metadataOnly: true,
  // Every simulated disk takes an internal snapshot, as libvirt's test driver accepts any.
  checkInternal: () => {},
  // Nothing is written: the simulated images have no content (see the module).
  createInternal: () => Promise.resolve(),
  revertInternal: () => Promise.resolve(),
  deleteInternal: () => Promise.resolve(),
};
