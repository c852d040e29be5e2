/**
 * Typed wrappers for the QMP commands evirt uses (reference §6): one method per command, each
 * with its argument checks and response type, so callers never build QMP JSON themselves. Every
 * method takes `{timeoutMs?, signal?}` last and passes it to the monitor, whose per-class default
 * timeout applies when `timeoutMs` is absent.
 *
 * Response shapes follow QEMU 7.2's QAPI schema; fields evirt does not read are kept (the types
 * list the ones that matter and allow the rest). A reply whose shape a wrapper relies on is
 * missing fails with {@linkcode QmpProtocolError}; bad arguments fail with a {@linkcode VirtError}
 * INVALID_ARG naming the argument, before anything is sent.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { QmpProtocolError } from "./qmp_errors.ts";
import type { QmpExecuteOptions } from "./qmp_monitor.ts";
import { isRecord, parseVersion, type QmpVersion } from "./qmp_protocol.ts";

/** What the wrappers need from a monitor; `QmpMonitor` (qmp_monitor.ts) provides it. */
export interface QmpExecutor {
  /** Runs one command and resolves its `return` value. */
  execute<T = unknown>(
    execute: string,
    args?: Record<string, unknown>,
    options?: QmpExecuteOptions,
  ): Promise<T>;
}

/** Per-call options of every wrapper: a timeout overriding the class default, and a signal. */
export type QmpCallOptions = QmpExecuteOptions;

/** QEMU's run states (`RunState`), as `query-status` reports them. */
export type QmpRunState =
  | "debug"
  | "inmigrate"
  | "internal-error"
  | "io-error"
  | "paused"
  | "postmigrate"
  | "prelaunch"
  | "finish-migrate"
  | "restore-vm"
  | "running"
  | "save-vm"
  | "shutdown"
  | "suspended"
  | "watchdog"
  | "guest-panicked"
  | "colo";

/** Reply of `query-status`. */
export interface QmpStatusInfo {
  /** Whether the vCPUs run. */
  running: boolean;
  /** The run state, e.g. `prelaunch` right after `-S`, `running`, `paused`, `shutdown`. */
  status: QmpRunState;
  /** Present on older QEMU versions. */
  singlestep?: boolean;
}

/** Image details inside block replies (`ImageInfo`). */
export interface QmpImageInfo {
  /** The image file (or a `json:` pseudo-filename). */
  filename: string;
  /** Image format, e.g. `raw`, `qcow2`, `file`. */
  format: string;
  /** Size the guest sees, in bytes. */
  "virtual-size": number;
  /** Space the image takes on the host, in bytes, when known. */
  "actual-size"?: number;
  /** qcow2 cluster size, in bytes. */
  "cluster-size"?: number;
  /** Whether the image is marked dirty (qcow2 lazy refcounts). */
  "dirty-flag"?: boolean;
  /** The backing file name as recorded in the image. */
  "backing-filename"?: string;
  /** The backing image, recursively (absent with `flat`). */
  "backing-image"?: QmpImageInfo;
  /** Fields evirt does not read. */
  [field: string]: unknown;
}

/** A block node (`BlockDeviceInfo`), from `query-block` (`inserted`) and `query-named-block-nodes`. */
export interface QmpBlockDeviceInfo {
  /** The node's filename (for format nodes, that of their protocol node). */
  file: string;
  /** The node name (`-blockdev node-name=`), or an auto-generated `#block…` one. */
  "node-name"?: string;
  /** Whether the node is read-only. */
  ro: boolean;
  /** Driver, e.g. `raw`, `qcow2`, `file`, `host_device`. */
  drv: string;
  /** The backing file, if any. */
  "backing_file"?: string;
  /** Length of the backing chain below this node. */
  "backing_file_depth"?: number;
  /** Whether the image is encrypted. */
  encrypted: boolean;
  /** The write threshold set on the node, in bytes (0: none). */
  "write_threshold": number;
  /** The image details. */
  image: QmpImageInfo;
  /** Fields evirt does not read. */
  [field: string]: unknown;
}

/** One block backend (`BlockInfo`) of `query-block`. */
export interface QmpBlockInfo {
  /** Backend name; empty for `-blockdev`-only setups, where `qdev` names the device. */
  device: string;
  /** The device's id or QOM path. */
  qdev?: string;
  /** Whether the medium can be removed (CD-ROM, floppy). */
  removable: boolean;
  /** Whether the guest locked the tray. */
  locked: boolean;
  /** The medium's top node, when one is inserted. */
  inserted?: QmpBlockDeviceInfo;
  /** Whether the tray is open (removable devices). */
  "tray_open"?: boolean;
  /** I/O status, for devices that stop on errors. */
  "io-status"?: "ok" | "failed" | "nospace";
  /** Fields evirt does not read. */
  [field: string]: unknown;
}

/** Counters of one node (`BlockDeviceStats`); counters count since the node was opened. */
export interface QmpBlockDeviceStats {
  /** Bytes read. */
  "rd_bytes": number;
  /** Bytes written. */
  "wr_bytes": number;
  /** Read requests. */
  "rd_operations": number;
  /** Write requests. */
  "wr_operations": number;
  /** Flush requests. */
  "flush_operations": number;
  /** Highest byte offset written since the node was opened (QEMU's allocation watermark). */
  "wr_highest_offset": number;
  /** Time spent in reads, in nanoseconds. */
  "rd_total_time_ns": number;
  /** Time spent in writes, in nanoseconds. */
  "wr_total_time_ns": number;
  /** Time spent in flushes, in nanoseconds. */
  "flush_total_time_ns": number;
  /** Fields evirt does not read. */
  [field: string]: unknown;
}

/** One entry of `query-blockstats` (`BlockStats`), with its protocol (`parent`) and backing nodes. */
export interface QmpBlockStats {
  /** Backend name (empty for `-blockdev`-only setups). */
  device?: string;
  /** The node name (with `query-nodes`, or on `parent`/`backing` entries). */
  "node-name"?: string;
  /** The device's id or QOM path. */
  qdev?: string;
  /** The counters. */
  stats: QmpBlockDeviceStats;
  /** The node below: for a format node, its protocol (file) node. */
  parent?: QmpBlockStats;
  /** The backing node. */
  backing?: QmpBlockStats;
  /** Fields evirt does not read. */
  [field: string]: unknown;
}

/** One vCPU of `query-cpus-fast` (`CpuInfoFast`). */
export interface QmpCpuInfoFast {
  /** The vCPU's index. */
  "cpu-index": number;
  /** The vCPU's QOM path. */
  "qom-path": string;
  /** The host thread running it. */
  "thread-id": number;
  /** The target architecture, e.g. `x86_64`. */
  target: string;
  /** Topology properties (socket, core, thread ids). */
  props?: Record<string, unknown>;
  /** Fields evirt does not read. */
  [field: string]: unknown;
}

/** Reply of `query-balloon`. */
export interface QmpBalloonInfo {
  /** Memory the guest currently has, in bytes. */
  actual: number;
}

/** Arguments of `blockdev-add` (`BlockdevOptions`): a driver, a node name, driver options. */
export interface QmpBlockdevOptions {
  /** Block driver, e.g. `file`, `raw`, `qcow2`. */
  driver: string;
  /** The new node's name (a QEMU id of at most 31 characters). */
  "node-name": string;
  /** Driver options, e.g. `filename`, `file`. */
  [option: string]: unknown;
}

/** Arguments of `device_add`: a driver, an id, device properties. */
export interface QmpDeviceOptions {
  /** Device type, e.g. `virtio-blk-pci`. */
  driver: string;
  /** The new device's id. */
  id: string;
  /** Device properties, e.g. `drive`, `bus`. */
  [property: string]: unknown;
}

/** Arguments of `netdev_add`: a backend type, an id, backend options. */
export interface QmpNetdevOptions {
  /** Backend type, e.g. `user`, `tap`. */
  type: string;
  /** The new backend's id. */
  id: string;
  /** Backend options. */
  [option: string]: unknown;
}

/** A chardev backend for `chardev-add` (`ChardevBackend`), e.g. `{type: "file", data: {out}}`. */
export interface QmpChardevBackend {
  /** Backend type, e.g. `file`, `socket`, `pty`, `null`. */
  type: string;
  /** The backend's options. */
  data: Record<string, unknown>;
}

/** Reply of `chardev-add` (`ChardevReturn`). */
export interface QmpChardevReturn {
  /** The pty path, for `pty` backends. */
  pty?: string;
}

/** One address a VNC server listens on (`VncServerInfo2` of `query-vnc-servers`). */
export interface QmpVncServerAddress {
  /** The address, e.g. `127.0.0.1`. */
  host: string;
  /** The port, as text. */
  service: string;
  /** `ipv4`, `ipv6`, `unix`, … */
  family: string;
  /** Whether this is the WebSocket listener. */
  websocket: boolean;
}

/** One VNC server (`VncInfo2` of `query-vnc-servers`). */
export interface QmpVncServerInfo {
  /** The display's id, e.g. `default`. */
  id: string;
  /** The addresses it listens on. */
  server: QmpVncServerAddress[];
}

/** One character device of `query-chardev` (`ChardevInfo`). */
export interface QmpChardevInfo {
  /** The chardev id, e.g. `charserial0`. */
  label: string;
  /** Its backend in QEMU's filename form, e.g. `pty:/dev/pts/3` or `unix:/path,server=on`. */
  filename: string;
  /** Whether a frontend has it open. */
  "frontend-open": boolean;
  [field: string]: unknown;
}

/** Longest QEMU id (`id=`, device and netdev ids), in characters. */
export const QMP_ID_MAX_CHARS = 127;

/** Longest block node name: QEMU keeps 31 characters plus NUL. */
export const QMP_NODE_NAME_MAX_CHARS = 31;

/** Longest human monitor command line accepted, in characters. */
export const QMP_HMP_COMMAND_MAX_CHARS = 4096;

const RUN_STATES: ReadonlySet<string> = new Set<QmpRunState>([
  "debug",
  "inmigrate",
  "internal-error",
  "io-error",
  "paused",
  "postmigrate",
  "prelaunch",
  "finish-migrate",
  "restore-vm",
  "running",
  "save-vm",
  "shutdown",
  "suspended",
  "watchdog",
  "guest-panicked",
  "colo",
]);

/**
 * The QMP commands evirt uses, over one monitor.
 *
 * @example Reading the run state
 * ```ts ignore
 * import { QmpMonitor } from "./qmp_monitor.ts";
 * import { QmpCommands } from "./qmp_commands.ts";
 * const monitor = await QmpMonitor.connect("/run/evirt/vm.qmp");
 * const qmp = new QmpCommands(monitor);
 * console.log((await qmp.queryStatus()).status); // "prelaunch"
 * await qmp.cont();
 * ```
 */
export class QmpCommands {
  readonly #monitor: QmpExecutor;

  /**
   * Wraps a monitor.
   *
   * @param monitor The monitor (or any executor, e.g. a test double) to send commands on.
   */
  constructor(monitor: QmpExecutor) {
    this.#monitor = monitor;
  }

  /**
   * `query-status`: the run state.
   *
   * @throws {QmpProtocolError} When the reply has no known `status` or no boolean `running`.
   */
  async queryStatus(options: QmpCallOptions = {}): Promise<QmpStatusInfo> {
    const reply = await this.#monitor.execute<unknown>("query-status", undefined, options);
    if (
      !isRecord(reply) || typeof reply.running !== "boolean" ||
      typeof reply.status !== "string" || !RUN_STATES.has(reply.status)
    ) {
      throw unexpected("query-status", reply);
    }
    return reply as unknown as QmpStatusInfo;
  }

  /** `stop`: pauses the vCPUs; QEMU then emits STOP. */
  async stop(options: QmpCallOptions = {}): Promise<void> {
    await this.#monitor.execute("stop", undefined, options);
  }

  /** `cont`: runs the vCPUs (also leaves `prelaunch`); QEMU then emits RESUME. */
  async cont(options: QmpCallOptions = {}): Promise<void> {
    await this.#monitor.execute("cont", undefined, options);
  }

  /**
   * `system_powerdown`: presses the ACPI power button; QEMU emits POWERDOWN, and SHUTDOWN once
   * the guest acts (a press before the guest's ACPI handler is up is lost).
   */
  async systemPowerdown(options: QmpCallOptions = {}): Promise<void> {
    await this.#monitor.execute("system_powerdown", undefined, options);
  }

  /** `system_reset`: resets the machine; QEMU 7.2 emits RESET twice (host, then firmware). */
  async systemReset(options: QmpCallOptions = {}): Promise<void> {
    await this.#monitor.execute("system_reset", undefined, options);
  }

  /** `query-block`: every block backend with its inserted medium. */
  async queryBlock(options: QmpCallOptions = {}): Promise<QmpBlockInfo[]> {
    return arrayOf("query-block", await this.#monitor.execute("query-block", undefined, options));
  }

  /**
   * `query-blockstats`: I/O counters per backend or, with `queryNodes`, per named node.
   *
   * @param args `queryNodes: true` lists every named node instead of the backends.
   */
  async queryBlockstats(
    args: { queryNodes?: boolean } = {},
    options: QmpCallOptions = {},
  ): Promise<QmpBlockStats[]> {
    const reply = await this.#monitor.execute(
      "query-blockstats",
      args.queryNodes === undefined ? undefined : { "query-nodes": args.queryNodes },
      options,
    );
    const stats = arrayOf<QmpBlockStats>("query-blockstats", reply);
    for (const entry of stats) {
      if (!isRecord(entry.stats)) throw unexpected("query-blockstats", entry);
    }
    return stats;
  }

  /**
   * `query-named-block-nodes`: every named block node.
   *
   * @param args `flat: true` leaves out the nested backing-image chains (smaller replies).
   */
  async queryNamedBlockNodes(
    args: { flat?: boolean } = {},
    options: QmpCallOptions = {},
  ): Promise<QmpBlockDeviceInfo[]> {
    const reply = await this.#monitor.execute(
      "query-named-block-nodes",
      args.flat === undefined ? undefined : { flat: args.flat },
      options,
    );
    return arrayOf("query-named-block-nodes", reply);
  }

  /** `query-cpus-fast`: the vCPUs with their host thread ids, without interrupting them. */
  async queryCpusFast(options: QmpCallOptions = {}): Promise<QmpCpuInfoFast[]> {
    return arrayOf(
      "query-cpus-fast",
      await this.#monitor.execute("query-cpus-fast", undefined, options),
    );
  }

  /**
   * `query-balloon`: the guest's current memory.
   *
   * @throws {QmpCommandError} (qmp_errors.ts) `DeviceNotActive` when there is no balloon device.
   */
  async queryBalloon(options: QmpCallOptions = {}): Promise<QmpBalloonInfo> {
    const reply = await this.#monitor.execute<unknown>("query-balloon", undefined, options);
    if (!isRecord(reply) || typeof reply.actual !== "number") {
      throw unexpected("query-balloon", reply);
    }
    return { actual: reply.actual };
  }

  /**
   * `balloon`: asks the guest to give memory back until it has `valueBytes`.
   *
   * @param valueBytes Target guest memory, in bytes (a positive integer).
   * @throws {VirtError} INVALID_ARG when `valueBytes` is not a positive safe integer.
   */
  async balloon(valueBytes: number, options: QmpCallOptions = {}): Promise<void> {
    if (!Number.isSafeInteger(valueBytes) || valueBytes <= 0) {
      throw invalid(
        "valueBytes",
        `balloon target must be a positive number of bytes, got ${valueBytes}`,
      );
    }
    await this.#monitor.execute("balloon", { value: valueBytes }, options);
  }

  /**
   * `qom-get`: reads one QOM property.
   *
   * @param path Absolute (`/machine/peripheral/balloon0`) or partial (`balloon0`) QOM path.
   * @param property The property name.
   */
  async qomGet(path: string, property: string, options: QmpCallOptions = {}): Promise<unknown> {
    requireText("path", path);
    requireText("property", property);
    return await this.#monitor.execute("qom-get", { path, property }, options);
  }

  /**
   * `qom-set`: writes one QOM property (e.g. the balloon's `guest-stats-polling-interval`).
   *
   * @param path Absolute or partial QOM path.
   * @param property The property name.
   * @param value The new value (any JSON value the property takes).
   */
  async qomSet(
    path: string,
    property: string,
    value: unknown,
    options: QmpCallOptions = {},
  ): Promise<void> {
    requireText("path", path);
    requireText("property", property);
    if (value === undefined) throw invalid("value", "qom-set needs a value");
    await this.#monitor.execute("qom-set", { path, property, value }, options);
  }

  /** `query-chardev`: every character device with its backend (pty paths among them). */
  async queryChardev(options: QmpCallOptions = {}): Promise<QmpChardevInfo[]> {
    const reply = arrayOf<QmpChardevInfo>(
      "query-chardev",
      await this.#monitor.execute("query-chardev", undefined, options),
    );
    for (const entry of reply) {
      if (typeof entry.label !== "string" || typeof entry.filename !== "string") {
        throw unexpected("query-chardev", entry);
      }
    }
    return reply;
  }

  /** `query-vnc-servers`: every VNC server with the addresses it listens on. */
  async queryVncServers(options: QmpCallOptions = {}): Promise<QmpVncServerInfo[]> {
    const reply = arrayOf<QmpVncServerInfo>(
      "query-vnc-servers",
      await this.#monitor.execute("query-vnc-servers", undefined, options),
    );
    for (const entry of reply) {
      if (!Array.isArray(entry.server)) throw unexpected("query-vnc-servers", entry);
      for (const server of entry.server) {
        if (typeof server.host !== "string" || typeof server.service !== "string") {
          throw unexpected("query-vnc-servers", entry);
        }
      }
    }
    return reply;
  }

  /** `query-version`: QEMU's version (also the monitor's liveness ping). */
  async queryVersion(options: QmpCallOptions = {}): Promise<QmpVersion> {
    const reply = await this.#monitor.execute<unknown>("query-version", undefined, options);
    return parseVersion(reply, JSON.stringify(reply) ?? "undefined");
  }

  /**
   * `blockdev-add`: adds a block node.
   *
   * @param args The node: at least `driver` and a well-formed `node-name`.
   */
  async blockdevAdd(args: QmpBlockdevOptions, options: QmpCallOptions = {}): Promise<void> {
    requireText("driver", args?.driver);
    requireNodeName("node-name", args["node-name"]);
    await this.#monitor.execute("blockdev-add", { ...args }, options);
  }

  /** `blockdev-del`: removes a block node that nothing uses any more. */
  async blockdevDel(nodeName: string, options: QmpCallOptions = {}): Promise<void> {
    requireNodeName("nodeName", nodeName);
    await this.#monitor.execute("blockdev-del", { "node-name": nodeName }, options);
  }

  /**
   * `device_add`: adds a device.
   *
   * @param args The device: at least `driver` and a well-formed `id`.
   */
  async deviceAdd(args: QmpDeviceOptions, options: QmpCallOptions = {}): Promise<void> {
    requireText("driver", args?.driver);
    requireId("id", args.id);
    await this.#monitor.execute("device_add", { ...args }, options);
  }

  /**
   * `device_del`: asks the guest to release a device; QEMU emits DEVICE_DELETED when it is gone.
   *
   * @param id The device id (or QOM path).
   */
  async deviceDel(id: string, options: QmpCallOptions = {}): Promise<void> {
    requireText("id", id);
    await this.#monitor.execute("device_del", { id }, options);
  }

  /**
   * `netdev_add`: adds a network backend.
   *
   * @param args The backend: at least `type` and a well-formed `id`.
   */
  async netdevAdd(args: QmpNetdevOptions, options: QmpCallOptions = {}): Promise<void> {
    requireText("type", args?.type);
    requireId("id", args.id);
    await this.#monitor.execute("netdev_add", { ...args }, options);
  }

  /** `netdev_del`: removes a network backend. */
  async netdevDel(id: string, options: QmpCallOptions = {}): Promise<void> {
    requireId("id", id);
    await this.#monitor.execute("netdev_del", { id }, options);
  }

  /**
   * `set_link`: sets the link of a NIC (by its device id) up or down, as a cable plugged in or
   * pulled out.
   *
   * @param name The NIC's device id, e.g. `net1`.
   */
  async setLink(name: string, up: boolean, options: QmpCallOptions = {}): Promise<void> {
    requireId("name", name);
    if (typeof up !== "boolean") throw invalid("up", `invalid up '${String(up)}'`);
    await this.#monitor.execute("set_link", { name, up }, options);
  }

  /**
   * `chardev-add`: adds a character device.
   *
   * @param id A well-formed chardev id.
   * @param backend The backend, e.g. `{type: "file", data: {out: "/path"}}`.
   * @returns The pty path for `pty` backends.
   */
  async chardevAdd(
    id: string,
    backend: QmpChardevBackend,
    options: QmpCallOptions = {},
  ): Promise<QmpChardevReturn> {
    requireId("id", id);
    requireText("backend.type", backend?.type);
    if (!isRecord(backend.data)) {
      throw invalid("backend.data", "chardev backend data must be an object");
    }
    const reply = await this.#monitor.execute<unknown>("chardev-add", { id, backend }, options);
    if (!isRecord(reply)) throw unexpected("chardev-add", reply);
    return typeof reply.pty === "string" ? { pty: reply.pty } : {};
  }

  /** `chardev-remove`: removes a character device. */
  async chardevRemove(id: string, options: QmpCallOptions = {}): Promise<void> {
    requireId("id", id);
    await this.#monitor.execute("chardev-remove", { id }, options);
  }

  /**
   * `human-monitor-command`: runs one HMP command line (for what QMP lacks; heavy class).
   *
   * @param commandLine The HMP line, e.g. `info mtree`; one line, no newline.
   * @returns HMP's text output.
   */
  async humanMonitorCommand(commandLine: string, options: QmpCallOptions = {}): Promise<string> {
    requireText("commandLine", commandLine);
    if (commandLine.length > QMP_HMP_COMMAND_MAX_CHARS || /[\r\n]/.test(commandLine)) {
      throw invalid(
        "commandLine",
        `human monitor command must be one line of at most ${QMP_HMP_COMMAND_MAX_CHARS} characters`,
      );
    }
    const reply = await this.#monitor.execute<unknown>(
      "human-monitor-command",
      { "command-line": commandLine },
      options,
    );
    if (typeof reply !== "string") throw unexpected("human-monitor-command", reply);
    return reply;
  }

  /**
   * `send-key`: presses keys together, given as QEMU key numbers, held `holdTimeMs` (0: QEMU's
   * default of 100 ms).
   */
  async sendKey(
    qnums: readonly number[],
    holdTimeMs: number,
    options: QmpCallOptions = {},
  ): Promise<void> {
    const keys = qnums.map((data) => ({ type: "number", data }));
    await this.#monitor.execute(
      "send-key",
      holdTimeMs > 0 ? { keys, "hold-time": holdTimeMs } : { keys },
      options,
    );
  }

  /** `screendump`: writes display head `head` to `filename` as PPM. */
  async screendump(filename: string, head: number, options: QmpCallOptions = {}): Promise<void> {
    requireText("filename", filename);
    await this.#monitor.execute(
      "screendump",
      head > 0 ? { filename, head } : { filename },
      options,
    );
  }

  /**
   * Any command, as a caller of `qemu-monitor-command` wrote it: its `return` value, unchecked.
   * Only the pass-through uses this; everything else has a typed wrapper.
   */
  passthrough(
    execute: string,
    args: Record<string, unknown> | undefined,
    options: QmpCallOptions = {},
  ): Promise<unknown> {
    return this.#monitor.execute(execute, args, options);
  }
}

function arrayOf<T>(execute: string, reply: unknown): T[] {
  if (!Array.isArray(reply) || !reply.every(isRecord)) throw unexpected(execute, reply);
  return reply as T[];
}

function unexpected(execute: string, reply: unknown): QmpProtocolError {
  const text = JSON.stringify(reply) ?? "undefined";
  return new QmpProtocolError(
    `unexpected reply to '${execute}': ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`,
  );
}

function invalid(where: string, message: string): VirtError {
  return new VirtError(ErrorCode.INVALID_ARG, message, { where });
}

function requireText(where: string, value: unknown): void {
  if (typeof value !== "string" || value === "") {
    throw invalid(where, `${where} must be a non-empty string`);
  }
}

/** QEMU's `id_wellformed`: a letter, then letters, digits, `-`, `.`, `_`. */
function requireId(where: string, value: unknown, maxChars = QMP_ID_MAX_CHARS): void {
  if (
    typeof value !== "string" || value.length > maxChars ||
    !/^[A-Za-z][A-Za-z0-9._-]*$/.test(value)
  ) {
    throw invalid(
      where,
      `invalid ${where} '${
        String(value)
      }': must start with a letter and contain only letters, digits, '-', '.', '_' (at most ${maxChars} characters)`,
    );
  }
}

function requireNodeName(where: string, value: unknown): void {
  requireId(where, value, QMP_NODE_NAME_MAX_CHARS);
}
