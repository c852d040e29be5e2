/**
 * Storage pool definitions as libvirt 9.0 knows them: pool types, their source formats and
 * the source parts each type takes, and the typed pool definition that pool XML parses into.
 *
 * The tables mirror libvirt's per-type pool options (which `<source>` children a type takes
 * and writes, its source format list and default) so parse, format and `pool-capabilities`
 * read one table.
 *
 * @module
 */

/** Pool types, in libvirt's enum order (virStoragePoolType). */
export const POOL_TYPES = [
  "dir",
  "fs",
  "netfs",
  "logical",
  "disk",
  "iscsi",
  "iscsi-direct",
  "scsi",
  "mpath",
  "rbd",
  "sheepdog",
  "gluster",
  "zfs",
  "vstorage",
] as const;

/** One of {@linkcode POOL_TYPES}. */
export type PoolType = typeof POOL_TYPES[number];

/**
 * Volume file formats, in libvirt 9.0's enum order (virStorageFileFormat; index 0 is `none`).
 * `luks` is not one: libvirt 9.0 refuses `<format type='luks'/>` on a volume.
 */
export const FILE_FORMATS = [
  "none",
  "raw",
  "dir",
  "bochs",
  "cloop",
  "dmg",
  "iso",
  "vpc",
  "vdi",
  "fat",
  "vhd",
  "ploop",
  "cow",
  "qcow",
  "qcow2",
  "qed",
  "vmdk",
] as const;

/** libvirt's storage formats other than `none`: what a disk's or a snapshot's `format` may name. */
export const STORAGE_FORMATS: ReadonlySet<string> = new Set(
  FILE_FORMATS.filter((format) => format !== "none"),
);

/** Partition formats of volumes in a `disk` pool (virStorageVolFormatDisk). */
export const DISK_VOLUME_FORMATS = [
  "none",
  "linux",
  "fat16",
  "fat32",
  "linux-swap",
  "linux-lvm",
  "linux-raid",
  "extended",
] as const;

/** The `<source>` parts a pool type takes (libvirt's VIR_STORAGE_POOL_SOURCE_* flags). */
export interface PoolSourceParts {
  /** `<host>` (required when set). */
  host: boolean;
  /** `<device>` (required when it is the only part). */
  device: boolean;
  /** `<dir>` (required when set). */
  dir: boolean;
  /** `<adapter>` (required when set). */
  adapter: boolean;
  /** `<name>` (defaults to the pool name). */
  name: boolean;
  /** `<initiator><iqn>`. */
  initiatorIqn: boolean;
  /** A network pool: no `<target>`. */
  network: boolean;
}

/** What libvirt knows of one pool type. */
export interface PoolTypeInfo {
  /** The `<source>` parts it takes and writes. */
  parts: PoolSourceParts;
  /** Its `<source><format type>` values (index = libvirt's number), empty when it has none. */
  sourceFormats: readonly string[];
  /** Index of the default source format. */
  sourceFormatDefault: number;
  /** Its volumes' `<target><format type>` values, empty when volumes have no format. */
  volumeFormats: readonly string[];
  /** Index of the default volume format. */
  volumeFormatDefault: number;
  /** The namespace of its extra XML (`fs:mount_opts`, `rbd:config_opts`), if any. */
  namespace?: PoolNamespace;
  /**
   * Whether `pool-capabilities` lists the volume formats (libvirt's rbd backend parses them
   * but lists none).
   */
  volumeFormatsListed: boolean;
}

/** A pool XML namespace: its prefix on output, its URI and the element it holds. */
export interface PoolNamespace {
  /** Prefix libvirt writes (`fs`, `rbd`). */
  prefix: string;
  /** The namespace URI. */
  uri: string;
  /** The container element's local name (`mount_opts`, `config_opts`). */
  element: string;
}

const FS_NAMESPACE: PoolNamespace = {
  prefix: "fs",
  uri: "http://libvirt.org/schemas/storagepool/fs/1.0",
  element: "mount_opts",
};
const RBD_NAMESPACE: PoolNamespace = {
  prefix: "rbd",
  uri: "http://libvirt.org/schemas/storagepool/rbd/1.0",
  element: "config_opts",
};

function parts(list: (keyof PoolSourceParts)[]): PoolSourceParts {
  return {
    host: list.includes("host"),
    device: list.includes("device"),
    dir: list.includes("dir"),
    adapter: list.includes("adapter"),
    name: list.includes("name"),
    initiatorIqn: list.includes("initiatorIqn"),
    network: list.includes("network"),
  };
}

const FS_FORMATS = [
  "auto",
  "ext2",
  "ext3",
  "ext4",
  "ufs",
  "iso9660",
  "udf",
  "gfs",
  "gfs2",
  "vfat",
  "hfs+",
  "xfs",
  "ocfs2",
  "vmfs",
];
const NETFS_FORMATS = ["auto", "nfs", "glusterfs", "cifs"];
const DISK_FORMATS = ["unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2"];
const LOGICAL_FORMATS = ["unknown", "lvm2"];
const NONE: readonly string[] = [];

function info(
  list: (keyof PoolSourceParts)[],
  sourceFormats: readonly string[] = NONE,
  sourceFormatDefault = 0,
  volumeFormats: readonly string[] = NONE,
  namespace?: PoolNamespace,
): PoolTypeInfo {
  const volumeFormatDefault = volumeFormats === FILE_FORMATS ? 1 : 0;
  return {
    parts: parts(list),
    sourceFormats,
    sourceFormatDefault,
    volumeFormats,
    volumeFormatDefault,
    ...(namespace === undefined ? {} : { namespace }),
    volumeFormatsListed: namespace !== RBD_NAMESPACE,
  };
}

/** What libvirt knows of each pool type. */
export const POOL_TYPE_INFO: Readonly<Record<PoolType, PoolTypeInfo>> = {
  dir: info([], NONE, 0, FILE_FORMATS),
  fs: info(["device"], FS_FORMATS, 0, FILE_FORMATS, FS_NAMESPACE),
  netfs: info(["host", "dir"], NETFS_FORMATS, 0, FILE_FORMATS, FS_NAMESPACE),
  logical: info(["name", "device"], LOGICAL_FORMATS, 1),
  disk: info(["device"], DISK_FORMATS, 0, DISK_VOLUME_FORMATS),
  iscsi: info(["host", "device", "initiatorIqn"]),
  "iscsi-direct": info(["host", "device", "network", "initiatorIqn"]),
  scsi: info(["adapter"]),
  mpath: info([]),
  rbd: info(["host", "network", "name"], NONE, 0, FILE_FORMATS, RBD_NAMESPACE),
  sheepdog: info(["host", "network", "name"]),
  gluster: info(["host", "network", "name", "dir"], NONE, 0, FILE_FORMATS),
  zfs: info(["name", "device"]),
  vstorage: info(["name"], NONE, 0, FILE_FORMATS),
};

/** Whether `value` names a pool type. */
export function isPoolType(value: string): value is PoolType {
  return (POOL_TYPES as readonly string[]).includes(value);
}

/**
 * Ownership and mode of a pool's target directory or a volume's file. `undefined` is libvirt's
 * `-1`: not set, inherit.
 */
export interface StoragePermissions {
  /** Mode bits (0..0o777). */
  mode?: number;
  /** Owner uid. */
  owner?: number;
  /** Group gid. */
  group?: number;
  /** Security label. */
  label?: string;
}

/** A `<host name port>` of a pool source. */
export interface PoolSourceHost {
  /** Host name or address. */
  name: string;
  /** Port, when given (0 = none). */
  port?: number;
}

/** A `<device path>` of a pool source. */
export interface PoolSourceDevice {
  /** Device path (or iSCSI target IQN). */
  path: string;
  /** `part_separator` (disk pools). */
  partSeparator?: boolean;
}

/** A `<adapter>` of a `scsi` pool: a SCSI host by name, or a Fibre Channel host. */
export type PoolSourceAdapter =
  | { type: "scsi_host"; name: string }
  | {
    type: "fc_host";
    wwnn: string;
    wwpn: string;
    parent?: string;
    parentWwnn?: string;
    parentWwpn?: string;
    parentFabricWwn?: string;
    managed?: boolean;
  };

/** A `<secret>` reference: by uuid or by usage. */
export type SecretReference = { type?: string; uuid: string } | { type?: string; usage: string };

/** `<auth>` of a pool source. */
export interface PoolSourceAuth {
  /** `chap` or `ceph`. */
  type: "chap" | "ceph";
  /** User name. */
  username: string;
  /** The secret holding the password or key. */
  secret: SecretReference;
}

/** A pool's `<source>`. */
export interface PoolSource {
  /** Hosts, in order. */
  hosts: PoolSourceHost[];
  /** Devices, in order. */
  devices: PoolSourceDevice[];
  /** Source directory (sanitised). */
  dir?: string;
  /** SCSI adapter. */
  adapter?: PoolSourceAdapter;
  /** Source name (VG, RBD pool, gluster volume…). */
  name?: string;
  /** Initiator IQN. */
  initiatorIqn?: string;
  /** Source format, one of the type's `sourceFormats`; absent for types without formats. */
  format?: string;
  /** Authentication. */
  auth?: PoolSourceAuth;
  /** NFS protocol version. */
  protocolVersion?: number;
  /** Vendor name. */
  vendor?: string;
  /** Product name. */
  product?: string;
}

/** A storage pool definition, as parsed from `<pool>` XML. */
export interface PoolDefinition {
  /** Pool type. */
  type: PoolType;
  /** Pool name (no `/`). */
  name: string;
  /** UUID, lower-case, dashed. */
  uuid: string;
  /** The source. */
  source: PoolSource;
  /** Target path (sanitised); absent for network pools. */
  targetPath?: string;
  /** Target directory permissions. */
  targetPermissions: StoragePermissions;
  /** `<features><cow state>` (dir and fs pools). */
  cow?: boolean;
  /** `<refresh><volume allocation>`. */
  refreshAllocation?: "default" | "capacity";
  /** Options of the type's namespace (`fs:mount_opts` option names; `rbd:config_opts` name=value). */
  namespaceOptions?: { name: string; value?: string }[];
}

/** A pool's live figures, bytes (libvirt writes them as `<capacity>`, …). */
export interface PoolFigures {
  /** Total size. */
  capacityBytes: bigint;
  /** Used. */
  allocationBytes: bigint;
  /** Free. */
  availableBytes: bigint;
}

/** libvirt's pool states (virStoragePoolState), by number. */
export const PoolState = {
  INACTIVE: 0,
  BUILDING: 1,
  RUNNING: 2,
  DEGRADED: 3,
  INACCESSIBLE: 4,
} as const;

/** One of {@linkcode PoolState}. */
export type PoolStateValue = typeof PoolState[keyof typeof PoolState];
