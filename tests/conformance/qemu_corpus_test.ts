/**
 * The QEMU driver against libvirt's qemuxml2argv corpus: for every input libvirt accepts (it
 * has a `NAME.args` or `NAME.x86_64-latest.args`), either QEMU accepts the command line evirt
 * generates (started paused, `query-block` lists the disks, destroyed) or evirt refuses it with
 * code 67 naming the unsupported element, or (a few inputs libvirt 9.0 itself cannot start on
 * this host) refuses it at start with libvirt's error. Prints the accepted and refused counts
 * and the refusals grouped by element.
 *
 * The host environment each document assumes is made in a temporary folder: disk images
 * (block devices become image files), chardev files and sockets (a listener for each socket
 * QEMU connects to), a vhost-user back end on each vhostuser interface's socket (one that
 * answers QEMU's set-up and moves no packets), VNC on an automatic local port, tap devices under unique names, the test
 * guest's kernel for direct kernel boot, an NSS database holding the certificates an emulated
 * smartcard names. `type='kvm'` runs as `qemu` where KVM is not usable. The hugetlbfs mounts
 * huge-page memory comes from are stand-in folders (2 MiB and 1 GiB pages) of the run's
 * temporary folder: QEMU's `memory-backend-file` runs on them as on a hugetlbfs mount (this host
 * may have no huge pages; what is checked is the command line QEMU accepts).
 *
 * QEMU starts run two at a time (`EVIRT_CORPUS_CONCURRENCY`); every QEMU started is ended in
 * `finally`.
 */

import assert from "node:assert/strict";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { type Chardev, type ChardevSource, type DomainDefinition } from "../../src/model/domain.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { parseDomainXml } from "../../src/xml/mod.ts";
import { corpusDir, missing, testIf } from "../support/environment.ts";
import { guestInitrdPath, guestKernelPath } from "../support/guest.ts";
import { killAll } from "../integration/_qemu_guest.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";
import { makeLuksImage } from "../support/luks_image.ts";
import { diskEncryptionOf } from "../../drivers/qemu/disk_encryption.ts";
import {
  connectVhostUser,
  listenVhostUser,
  type VhostUserBackend,
} from "../support/vhost_user_backend.ts";

/** A memory-backed folder for the huge-page stand-ins, where the host has it. */
const SHM = "/dev/shm";

/** QEMU processes started at once. */
const CONCURRENCY = Number(Deno.env.get("EVIRT_CORPUS_CONCURRENCY") ?? "2");

/** The least number of accepted inputs the driver must run (of the 170 libvirt accepts). */
const ACCEPTED_FLOOR = 132;

/** Inputs the driver must run. */
const MUST_RUN = [
  "minimal",
  "boot-cdrom",
  "boot-network",
  "clock-localtime",
  "console-compat",
  "console-virtio",
  "cpu-topology2",
  "net-user",
  "net-virtio-device",
  "serial-pty-chardev",
  "serial-file-log",
  "serial-unix-chardev",
  "smp-dies",
  "balloon-device",
  "misc-disable-s3",
];

/**
 * Inputs libvirt 9.0 itself fails to start on a host like this one (checked with `virsh start`
 * against the running libvirtd): the error evirt must give too. Zero shares are outside the
 * kernel's range for `cpu.shares` (v1, [2, 262144]) and `cpu.weight` (v2, [1, 10000]).
 */
const LIBVIRT_REFUSES_AT_START: Readonly<Record<string, { code: number; message: RegExp }>> = {
  "cputune-zero-shares": { code: 8, message: /^shares '0' must be in range \[\d+, \d+\]$/ },
};

/**
 * The passphrase of every secret a document names: its LUKS disks are made with it, and the
 * driver's secret lookup answers it.
 */
const CORPUS_PASSPHRASE = "corpus passphrase";

/** Bound on the disk query of one case, in milliseconds. */
const QUERY_TIMEOUT_MS = 5_000;

/** Bound on one case (start, query, destroy), in milliseconds. */
const CASE_TIMEOUT_MS = 20_000;

/** More time a case gets per GiB of guest memory from huge pages (QEMU preallocates it). */
const CASE_TIMEOUT_MS_PER_HUGE_GIB = 10_000;

const folder = `${corpusDir}/qemuxml2argv`;

/** The inputs libvirt accepts: those with a command line. */
function acceptedNames(): string[] {
  const files = new Set([...Deno.readDirSync(folder)].map((entry) => entry.name));
  return [...files].filter((name) => name.endsWith(".xml")).map((name) => name.slice(0, -4))
    .filter((name) => files.has(`${name}.args`) || files.has(`${name}.x86_64-latest.args`))
    .sort();
}

type Outcome =
  | { kind: "accepted" }
  | { kind: "refused"; where: string; message: string }
  | { kind: "refused_as_libvirt"; message: string }
  | { kind: "failed"; message: string }
  | { kind: "not_run"; reason: string };

/** What a case's environment holds open until the case ends. */
interface CaseEnvironment {
  dir: string;
  listeners: Deno.Listener[];
  /** vhost-user back ends of `vhostuser` interfaces. */
  backends: VhostUserBackend[];
  /** Ends the case's waits (the back ends that connect to QEMU's sockets). */
  signal: AbortSignal;
  images: Promise<void>[];
}

testIf(
  "QemuDriver runs or refuses by element every libvirt-accepted corpus input",
  missing(`${folder}`, "qemu-system-x86_64", "qemu-img"),
  async () => {
    const root = searchableTempDirSync("evirt-corpus-");
    // Memory-backed like hugetlbfs where /dev/shm exists: preallocating there is quicker.
    const pages = searchableTempDirSync("evirt-corpus-pages-", existsDir(SHM) ? SHM : root);
    const hugetlbfs = [
      { path: `${pages}/hugepages2M`, pageSizeKiB: 2048 },
      { path: `${pages}/hugepages1G`, pageSizeKiB: 1048576 },
    ];
    for (const mount of hugetlbfs) Deno.mkdirSync(mount.path);
    const driver = await QemuDriver.create({
      runtimeDir: `${root}/run`,
      logDir: `${root}/log`,
      log: () => {},
      hugetlbfs,
    });
    driver.useSecretValues(() => new TextEncoder().encode(CORPUS_PASSPHRASE));
    const names = acceptedNames();
    const outcomes = new Map<string, Outcome>();
    let next = 0;
    const worker = async () => {
      // Each worker takes the next case until none is left.
      while (next < names.length) {
        const index = next++;
        outcomes.set(names[index], await runCase(driver, names[index], index + 1, root));
      }
    };
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      await driver.close();
      Deno.removeSync(pages, { recursive: true });
      Deno.removeSync(root, { recursive: true });
    }
    report(names, outcomes);
    const failed = [...outcomes].filter(([, outcome]) => outcome.kind === "failed");
    assert.deepEqual(
      failed.map(([name, outcome]) => `${name}: ${(outcome as { message: string }).message}`),
      [],
    );
    const accepted = [...outcomes].filter(([, outcome]) => outcome.kind === "accepted").length;
    assert.ok(accepted >= ACCEPTED_FLOOR, `only ${accepted} inputs accepted`);
    for (const name of Object.keys(LIBVIRT_REFUSES_AT_START)) {
      assert.equal(
        outcomes.get(name)?.kind,
        "refused_as_libvirt",
        `${name}: ${JSON.stringify(outcomes.get(name))}`,
      );
    }
    for (const name of MUST_RUN) {
      assert.equal(
        outcomes.get(name)?.kind,
        "accepted",
        `${name}: ${JSON.stringify(outcomes.get(name))}`,
      );
    }
  },
);

async function runCase(
  driver: QemuDriver,
  name: string,
  id: number,
  root: string,
): Promise<Outcome> {
  let definition: DomainDefinition;
  try {
    definition = applyDomainDefaults(
      parseDomainXml(Deno.readTextFileSync(`${folder}/${name}.xml`)),
    );
  } catch (error) {
    return { kind: "failed", message: `parse: ${(error as Error).message}` };
  }
  if (definition.type === "kvm" && !driver.kvmUsable) definition = { ...definition, type: "qemu" };
  // Direct kernel boot needs a kernel QEMU can load: the test guest's, when it is built.
  if (definition.os.kernel !== undefined && guestKernelPath() === undefined) {
    return {
      kind: "not_run",
      reason: "needs the test guest's kernel (tests/fixtures/build_guest.sh)",
    };
  }
  if (
    definition.devices.smartcards.some((card) => card.mode === "host-certificates") &&
    missing("certutil") !== undefined
  ) {
    return { kind: "not_run", reason: "needs NSS's certutil (libnss3-tools)" };
  }
  // Many inputs share a uuid; the driver keys instances by uuid, and two run at once.
  const uuid = `00000000-0000-4000-8000-${id.toString(16).padStart(12, "0")}`;
  definition = { ...definition, uuid };
  const environment: CaseEnvironment = {
    dir: `${root}/case-${id}`,
    listeners: [],
    backends: [],
    images: [],
    signal: AbortSignal.timeout(CASE_TIMEOUT_MS),
  };
  Deno.mkdirSync(environment.dir);
  let launched: { pid: number; startTimeTicks: number } | undefined;
  const signal = AbortSignal.timeout(
    CASE_TIMEOUT_MS + hugeGiB(definition) * CASE_TIMEOUT_MS_PER_HUGE_GIB,
  );
  try {
    definition = prepare(definition, environment);
    await Promise.all(environment.images);
    driver.check(definition);
    const runtime = await driver.launch({ uuid, name, id, definition }, signal);
    launched = { pid: Number(runtime.pid), startTimeTicks: Number(runtime.startTimeTicks) };
    const handle = { uuid, name, id, definition, runtime };
    // A generous bound: the question is whether QEMU runs the input, not how fast it answers
    // on a machine other QEMUs share (dozens of disks take longer than the 500 ms default).
    const blocks = await driver.qmpOf(uuid).queryBlock({ signal, timeoutMs: QUERY_TIMEOUT_MS });
    const listed = new Set(blocks.map((block) => block.inserted?.["node-name"]));
    // The driver names disk i's format node drive<i>-format; a disk without a medium has none.
    const missingDisks = definition.devices.disks.map((_, index) => `drive${index}-format`)
      .filter((node, index) => hasMedium(definition, index) && !listed.has(node));
    await driver.terminate(handle, { graceful: false }, signal);
    launched = undefined;
    driver.unwatch(uuid);
    if (missingDisks.length > 0) {
      return { kind: "failed", message: `query-block does not list ${missingDisks.join(", ")}` };
    }
    if (LIBVIRT_REFUSES_AT_START[name] !== undefined) {
      return { kind: "failed", message: "started, where libvirt 9.0 refuses it at start here" };
    }
    return { kind: "accepted" };
  } catch (error) {
    const expected = LIBVIRT_REFUSES_AT_START[name];
    if (
      expected !== undefined && isVirtError(error) && error.code === expected.code &&
      expected.message.test(error.message)
    ) {
      return { kind: "refused_as_libvirt", message: error.message };
    }
    if (isVirtError(error) && error.code === 67 && error.where !== undefined) {
      return { kind: "refused", where: error.where, message: error.message };
    }
    return { kind: "failed", message: (error as Error).message.slice(0, 400) };
  } finally {
    if (launched !== undefined) {
      // The case failed half-way: end its QEMU by pid and start time.
      driver.unwatch(uuid);
      await killAll([launched]);
    }
    for (const listener of environment.listeners) listener.close();
    for (const backend of environment.backends) backend.close();
  }
}

/** The guest memory in GiB when it comes from huge pages, else 0. */
function hugeGiB(definition: DomainDefinition): number {
  const backing = definition.extra?.elements?.find((placed) =>
    placed.element.name === "memoryBacking"
  );
  const huge = backing?.element.children?.some((child) =>
    typeof child !== "string" && child.name === "hugepages"
  );
  return huge === true ? Math.ceil(definition.memoryKiB / (1024 * 1024)) : 0;
}

function existsDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function hasMedium(definition: DomainDefinition, index: number): boolean {
  const source = definition.devices.disks[index].source;
  return source?.file !== undefined || source?.dev !== undefined;
}

/** A copy of `definition` whose host paths exist in the case's folder. */
function prepare(definition: DomainDefinition, environment: CaseEnvironment): DomainDefinition {
  const copy: DomainDefinition = structuredClone(definition);
  const devices = copy.devices;
  devices.disks.forEach((disk, index) => {
    const type = disk.type ?? "file";
    if (type !== "file" && type !== "block") return;
    const path = type === "block" ? disk.source?.dev : disk.source?.file;
    if (path === undefined) return;
    const format = disk.driver?.type ?? "raw";
    const image = `${environment.dir}/disk${index}.${format}`;
    // A LUKS disk's image is encrypted with the passphrase its secret holds.
    const encrypted = diskEncryptionOf(disk, `/domain/devices/disk[${index + 1}]`) !== undefined &&
      (format === "raw" || format === "qcow2");
    environment.images.push(
      encrypted
        ? makeLuksImage(image, format as "raw" | "qcow2", CORPUS_PASSPHRASE)
        : makeImage(image, format),
    );
    disk.type = "file";
    disk.source = { ...disk.source, file: image, hosts: disk.source?.hosts ?? [] };
    delete disk.source.dev;
  });
  if (copy.os.kernel !== undefined) {
    copy.os.kernel = guestKernelPath()!;
    if (copy.os.initrd !== undefined) copy.os.initrd = guestInitrdPath;
  }
  const chardevs: Chardev[] = [
    ...devices.serials,
    ...devices.consoles,
    ...devices.channels,
    ...devices.parallels,
  ];
  chardevs.forEach((chardev, index) => prepareChardev(chardev, index, environment));
  // USB redirection over a socket connects like a chardev.
  [...devices.redirdevs, ...devices.smartcards].forEach((device, index) =>
    prepareChardev(device, chardevs.length + index, environment)
  );
  devices.smartcards.forEach((card, index) => {
    if (card.mode === "host-certificates") {
      card.database = certificateDatabase(environment, `nssdb${index}`, card.certificates);
    }
  });
  devices.rngs.forEach((rng) => {
    if (rng.backend.model === "random") rng.backend.path = "/dev/urandom";
    if (rng.backend.model === "egd") {
      prepareChardev({ type: rng.backend.type, sources: rng.backend.sources }, 100, environment);
    }
  });
  devices.graphics.forEach((graphics, index) => {
    if (graphics.type !== "vnc") return;
    graphics.port = -1;
    graphics.autoport = "yes";
    delete graphics.listen;
    graphics.listens = graphics.listens.map((listen) =>
      listen.type === "socket"
        ? { ...listen, socket: `${environment.dir}/vnc${index}.sock` }
        : listen.type === "address"
        ? { ...listen, address: "127.0.0.1" }
        : listen
    );
    if (graphics.socket !== undefined) graphics.socket = `${environment.dir}/vnc${index}.sock`;
  });
  devices.interfaces.forEach((nic, index) => {
    if (nic.type === "ethernet" && nic.target?.dev !== undefined) {
      nic.target = { ...nic.target, dev: `evc${environment.dir.split("-").pop()}n${index}` };
    }
    if (nic.type === "client" || nic.type === "server" || nic.type === "udp") {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = String((listener.addr as Deno.NetAddr).port);
      if (nic.type === "client") environment.listeners.push(listener);
      else listener.close();
      nic.source = { ...nic.source, address: "127.0.0.1", port };
    }
    if (nic.type === "vhostuser" && nic.source?.path !== undefined) {
      // A vhost-user back end (tests/support/vhost_user_backend.ts) on the interface's socket.
      const path = `${environment.dir}/vhost${index}.sock`;
      nic.source = { ...nic.source, path };
      environment.backends.push(
        nic.source.mode === "server"
          ? connectVhostUser(path, environment.signal)
          : listenVhostUser(path),
      );
    }
    for (const placed of nic.extra?.elements ?? []) {
      if (placed.element.name === "rom" && placed.element.attributes?.file !== undefined) {
        placed.element.attributes.file = placeholder(environment, `rom${index}.bin`);
      }
    }
  });
  for (const placed of devices.extra?.elements ?? []) {
    if (placed.element.name !== "filesystem") continue;
    // The shared folder must exist on the host.
    for (const child of placed.element.children ?? []) {
      if (typeof child !== "string" && child.name === "source" && child.attributes?.dir) {
        child.attributes.dir = `${environment.dir}/shared`;
        Deno.mkdirSync(child.attributes.dir, { recursive: true });
      }
    }
  }
  for (const placed of copy.os.extra?.elements ?? []) {
    if (placed.element.name !== "acpi") continue;
    for (const table of placed.element.children ?? []) {
      if (typeof table !== "string") table.children = [placeholder(environment, "acpi-table.dat")];
    }
  }
  for (const placed of copy.extra?.elements ?? []) {
    if (placed.element.name !== "sysinfo") continue;
    // A firmware config entry's file must exist on the host.
    for (const entry of placed.element.children ?? []) {
      if (typeof entry !== "string" && entry.attributes?.file !== undefined) {
        entry.attributes.file = placeholder(environment, "fw_cfg.dat");
      }
    }
  }
  for (const placed of copy.extra?.elements ?? []) {
    // Preallocating the tens of GiB some documents ask for is beyond a test run.
    if (placed.element.name !== "memoryBacking") continue;
    placed.element.children = placed.element.children?.filter((child) =>
      typeof child === "string" || child.name !== "allocation"
    );
  }
  if (copy.os.nvram?.path !== undefined) {
    const vars = "/usr/share/OVMF/OVMF_VARS.fd";
    const path = `${environment.dir}/nvram.fd`;
    try {
      Deno.copyFileSync(vars, path);
    } catch {
      Deno.writeFileSync(path, new Uint8Array(128 * 1024));
    }
    copy.os.nvram = { ...copy.os.nvram, path };
  }
  return copy;
}

function prepareChardev(
  chardev: Pick<Chardev, "type" | "sources" | "log">,
  index: number,
  environment: CaseEnvironment,
): void {
  if (chardev.log !== undefined) {
    chardev.log = { ...chardev.log, file: `${environment.dir}/chardev${index}.log` };
  }
  chardev.sources.forEach((source: ChardevSource, sourceIndex) => {
    const tag = `${index}-${sourceIndex}`;
    if (chardev.type === "file" || chardev.type === "pipe") {
      source.path = `${environment.dir}/chardev${tag}.out`;
    } else if (chardev.type === "dev") {
      // A host serial port the document names (/dev/ttyS2) need not exist here.
      source.path = "/dev/null";
    } else if (chardev.type === "unix") {
      source.path = `${environment.dir}/chardev${tag}.sock`;
      if (source.mode !== "bind") {
        environment.listeners.push(Deno.listen({ transport: "unix", path: source.path }));
      }
    } else if (chardev.type === "tcp" || chardev.type === "udp") {
      source.host = "127.0.0.1";
      if (chardev.type === "tcp" && source.mode !== "bind") {
        const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        environment.listeners.push(listener);
        source.service = String((listener.addr as Deno.NetAddr).port);
      } else {
        source.service = "0";
      }
    }
  });
}

/**
 * An NSS database in the case's folder holding a self-signed certificate for each nickname
 * (made with NSS's certutil), readable by QEMU's user.
 */
function certificateDatabase(
  environment: CaseEnvironment,
  name: string,
  nicknames: string[],
): string {
  const dir = `${environment.dir}/${name}`;
  Deno.mkdirSync(dir);
  const noise = placeholder(environment, `${name}.noise`);
  Deno.writeFileSync(noise, crypto.getRandomValues(new Uint8Array(64)));
  const certutil = (args: string[]) => {
    const output = new Deno.Command("certutil", { args: ["-d", `sql:${dir}`, ...args] })
      .outputSync();
    if (!output.success) throw new Error(`certutil: ${new TextDecoder().decode(output.stderr)}`);
  };
  certutil(["-N", "--empty-password"]);
  for (const nickname of nicknames) {
    certutil(["-S", "-n", nickname, "-s", `CN=${nickname}`, "-x", "-t", "CT,C,C", "-k", "rsa"]
      .concat(["-g", "1024", "-z", noise, "-v", "12"]));
  }
  for (const entry of Deno.readDirSync(dir)) Deno.chmodSync(`${dir}/${entry.name}`, 0o644);
  return dir;
}

function placeholder(environment: CaseEnvironment, name: string): string {
  const path = `${environment.dir}/${name}`;
  Deno.writeFileSync(path, new Uint8Array(4096));
  return path;
}

async function makeImage(path: string, format: string): Promise<void> {
  if (format === "raw") {
    const file = Deno.openSync(path, { write: true, create: true });
    file.truncateSync(64 * 1024 * 1024);
    file.close();
    return;
  }
  const output = await new Deno.Command("qemu-img", {
    args: ["create", "-q", "-f", format, path, "64M"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    // An image format qemu-img cannot create: leave a raw file so the driver decides.
    Deno.writeFileSync(path, new Uint8Array(0));
  }
}

function report(names: string[], outcomes: Map<string, Outcome>): void {
  const accepted = names.filter((name) => outcomes.get(name)?.kind === "accepted");
  const refused = names.filter((name) => outcomes.get(name)?.kind === "refused");
  const failed = names.filter((name) => outcomes.get(name)?.kind === "failed");
  const notRun = names.filter((name) => outcomes.get(name)?.kind === "not_run");
  const asLibvirt = names.filter((name) => outcomes.get(name)?.kind === "refused_as_libvirt");
  const groups = new Map<string, string[]>();
  for (const name of refused) {
    const outcome = outcomes.get(name) as { where: string };
    const element = outcome.where.replace(/\[\d+\]/g, "");
    groups.set(element, [...(groups.get(element) ?? []), name]);
  }
  const lines = [
    `qemu corpus: ${names.length} inputs libvirt accepts: ${accepted.length} accepted, ${refused.length} refused, ${asLibvirt.length} refused at start as libvirt does here, ${failed.length} failed` +
    (notRun.length === 0
      ? ""
      : `, ${notRun.length} not run (${
        notRun.map((name) => `${name}: ${(outcomes.get(name) as { reason: string }).reason}`)
          .join("; ")
      })`),
    "refusals by element:",
    ...[...groups].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
      .map(([element, cases]) =>
        `  ${String(cases.length).padStart(3)} ${element}: ${cases.join(", ")}`
      ),
  ];
  console.log(lines.join("\n"));
}
