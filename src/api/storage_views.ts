/**
 * The JSON views of storage pools and volumes the API answers and the client reads.
 *
 * @module
 */

/** A pool as lists and actions answer it. */
export interface PoolSummaryView {
  uuid: string;
  name: string;
  /** The pool type (`dir`, …). */
  type: string;
  /** libvirt's state number (virStoragePoolState). */
  state: number;
  /** `inactive`, `building`, `running`, `degraded` or `inaccessible`. */
  stateName: string;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
}

/** A pool with its figures (zero while inactive). */
export interface PoolInfoView extends PoolSummaryView {
  capacityBytes: number;
  allocationBytes: number;
  availableBytes: number;
}

/** A volume. */
export interface VolumeView {
  /** Its pool's name and uuid. */
  pool: string;
  poolUuid: string;
  name: string;
  /** Its key (the path, for file volumes). */
  key: string;
  path: string;
  /** libvirt's type number (virStorageVolType) and its name (`file`, `dir`, …). */
  type: number;
  typeName: string;
  /** Its format (`raw`, `qcow2`, …). */
  format: string;
  capacityBytes: number;
  allocationBytes: number;
  /** A file's length. */
  physicalBytes: number;
}

/** The job a volume is busy with (evirt's job view; libvirt has none). */
export interface VolumeJobView {
  /** The pool's name. */
  pool: string;
  volume: string;
  /** The job, or null when the volume is idle. */
  job: {
    /** The verb running it: `vol-clone`, `vol-create`, `vol-wipe`, `vol-upload`, `vol-download`. */
    name: string;
    sinceMs: number;
    bytesDone: number;
    /** 0 when unknown. */
    bytesTotal: number;
    cancelled: boolean;
  } | null;
}
