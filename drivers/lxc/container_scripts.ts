/**
 * The two shell programs that make a container out of a {@linkcode ContainerSpec}, written into
 * the instance's runtime folder before anything is spawned (pure text here).
 *
 * - `supervisor.sh` is the per-container supervisor. It outlives the service (it runs in a
 *   session of its own), runs `unshare` for the namespaces (pid, mount, uts, ipc, net) and
 *   waits for it, records the exit status of the container's init in `exit`, and starts the
 *   container again when `reboot` was asked for. It keeps the console's host-side pty open so
 *   the pty stays usable while no client is attached.
 * - `setup.sh` runs as pid 1 of the new namespaces: it joins the container's cgroup, builds the
 *   root (a bind of the root folder at the runtime folder's `root`, the mounts, `/proc`, `/sys`
 *   read-only, a small `/dev` with its own devpts and the console), sets the host name, pivots
 *   into the root, reports `ready` (or `error …`) in `status`, waits for the go on the `go`
 *   fifo (so a launch leaves the container's init not yet running, as QEMU's `-S`), and execs
 *   the init with its arguments, environment and folder.
 *
 * Every mount is made inside the new mount namespace (private propagation), so nothing of a
 * container is ever mounted in the host's namespace, whatever fails.
 *
 * @module
 */

import type { ContainerSpec } from "./container_spec.ts";

/** Runtime folder file names the scripts and the driver share. */
export const RUN_FILES = {
  supervisor: "supervisor.sh",
  setup: "setup.sh",
  /** setup.sh writes `ready` or `error <message>` here. */
  status: "status",
  /** The fifo that lets the init run. */
  go: "go",
  /** Where the root is assembled. */
  root: "root",
  /** The pid of the `unshare` process whose child is the container's init. */
  unsharePid: "unshare.pid",
  /** The exit status of the last container run. */
  exit: "exit",
  /** Present while the guest's own reboot (its init died of SIGHUP) waits for its go. */
  guestReboot: "guest-reboot",
  /** Present while a reboot is asked for. */
  reboot: "reboot",
  /**
   * Present while the driver still kills the old run's processes: the supervisor waits for its
   * removal before starting the new run, whose processes the killing would otherwise catch.
   */
  rebootHold: "reboot-hold",
  /** The console's host-side pty (a symlink to `/dev/pts/N`). */
  console: "console",
  /** The folder copied into the container's `/dev` (see {@linkcode makeDevSkeleton}). */
  devSkeleton: "dev",
  /** The supervisor's own log (socat's messages). */
  log: "supervisor.log",
} as const;

/**
 * Makes the skeleton of a container's `/dev` in the runtime folder: `pts/`, the `ptmx`, `fd`
 * and standard stream symlinks, and the console's mount point (the device nodes are copied
 * from the host's `/dev` by the setup).
 */
export function makeDevSkeleton(runDir: string): void {
  const dir = `${runDir}/${RUN_FILES.devSkeleton}`;
  Deno.mkdirSync(`${dir}/pts`, { recursive: true });
  Deno.symlinkSync("pts/ptmx", `${dir}/ptmx`);
  Deno.symlinkSync("/proc/self/fd", `${dir}/fd`);
  Deno.symlinkSync("/proc/self/fd/0", `${dir}/stdin`);
  Deno.symlinkSync("/proc/self/fd/1", `${dir}/stdout`);
  Deno.symlinkSync("/proc/self/fd/2", `${dir}/stderr`);
  Deno.writeTextFileSync(`${dir}/console`, "");
}

/** Quotes a word for the POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The supervisor program.
 *
 * @param runDir The instance's runtime folder.
 * @param console Whether its stdin is the container's console pty (kept open on fd 5 the host
 *   side is opened from `console`).
 */
export function supervisorScript(runDir: string, console: boolean): string {
  const run = shellQuote(runDir);
  return [
    "#!/bin/sh",
    "# evirt lxc supervisor: runs the container, records how its init ended.",
    `RUN=${run}`,
    'echo "$$" > "$RUN/supervisor.pid"',
    // The host side of the console stays open here (fd 5), so reading it never fails while no
    // client is attached. socat makes the link as it opens its first address; wait for it
    // (bounded: 5 s).
    console
      ? `i=0; while [ ! -e "$RUN/${RUN_FILES.console}" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; exec 5<>"$RUN/${RUN_FILES.console}"`
      : "exec 5</dev/null",
    "exec 3<&0",
    "while :; do",
    `  unshare --pid --mount --uts --ipc --net --fork --kill-child --propagation private /bin/sh "$RUN/${RUN_FILES.setup}" <&3 3<&- 5<&- &`,
    "  child=$!",
    // One write of a few bytes: a reader sees the whole pid or an empty file, and retries.
    `  echo "$child" > "$RUN/${RUN_FILES.unsharePid}"`,
    '  while :; do wait "$child"; code=$?; kill -0 "$child" 2>/dev/null || break; done',
    // A restart asked for: start again, and write no exit status (the container did not end).
    `  if [ -e "$RUN/${RUN_FILES.reboot}" ]; then`,
    // Bounded (30 s): the driver removes the hold once the old run's cgroup is empty.
    `    i=0; while [ -e "$RUN/${RUN_FILES.rebootHold}" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`,
    `    rm -f "$RUN/${RUN_FILES.reboot}"; continue`,
    "  fi",
    // An init killed by SIGHUP asks for a reboot, as libvirt's controller takes it (unshare
    // dies of its child's signal: 128 + 1). The old status is emptied before the mark, so the
    // driver waits for the new run's `ready` before it gives the go.
    `  if [ "$code" = 129 ]; then : > "$RUN/${RUN_FILES.status}"; : > "$RUN/${RUN_FILES.guestReboot}"; continue; fi`,
    `  echo "$code" > "$RUN/${RUN_FILES.exit}"`,
    "  break",
    "done",
    "",
  ].join("\n");
}

/** Options of {@linkcode setupScript}. */
export interface SetupOptions {
  runDir: string;
  /** The `cgroup.procs` files pid 1 writes itself into. */
  cgroupJoinFiles: string[];
  /** The domain's uuid and name, for the init's environment as libvirt gives them. */
  uuid: string;
  name: string;
}

/** The setup program, run as pid 1 of the container's namespaces. */
export function setupScript(spec: ContainerSpec, options: SetupOptions): string {
  const q = shellQuote;
  const lines: string[] = [
    "#!/bin/sh",
    "# evirt lxc setup: pid 1 of the container until it execs the init.",
    `RUN=${q(options.runDir)}`,
    `R="$RUN/${RUN_FILES.root}"`,
    `exec 9>"$RUN/${RUN_FILES.status}"`,
    'fail() { echo "error $*" >&9; exit 1; }',
    ...options.cgroupJoinFiles.map((file) =>
      `echo 0 > ${q(file)} || fail "cannot join the cgroup (${file})"`
    ),
    `[ -d ${q(spec.rootDir)} ] || fail ${q(`root filesystem '${spec.rootDir}' does not exist`)}`,
    `mount --rbind ${q(spec.rootDir)} "$R" || fail ${q(`cannot bind '${spec.rootDir}'`)}`,
  ];
  for (const mount of spec.mounts) {
    const target = `"$R"${q(mount.target)}`;
    lines.push(
      `[ -L ${target} ] && fail ${q(`mount target '${mount.target}' is a symbolic link`)}`,
      `mkdir -p ${target} || fail ${q(`cannot make mount target '${mount.target}'`)}`,
    );
    if (mount.kind === "bind") {
      lines.push(
        `[ -e ${q(mount.source)} ] || fail ${
          q(`filesystem source '${mount.source}' does not exist`)
        }`,
        `mount --bind ${q(mount.source)} ${target} || fail ${q(`cannot bind '${mount.source}'`)}`,
      );
      if (mount.readonly) {
        lines.push(
          `mount -o remount,bind,ro ${target} || fail ${
            q(`cannot make '${mount.target}' read-only`)
          }`,
        );
      }
    } else {
      const size = mount.sizeKiB > 0 ? `,size=${mount.sizeKiB}k` : "";
      lines.push(
        `mount -t tmpfs -o mode=755${size} tmpfs ${target} || fail ${
          q(`cannot mount a tmpfs at '${mount.target}'`)
        }`,
      );
    }
  }
  lines.push(
    'for d in proc sys dev; do [ -d "$R/$d" ] || mkdir "$R/$d" || fail "cannot make /$d"; done',
    'mount -t proc -o nosuid,nodev,noexec proc "$R/proc" || fail "cannot mount /proc"',
    'mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys" || fail "cannot mount /sys"',
    'mount -t tmpfs -o mode=755,size=64k,nosuid devfs "$R/dev" || fail "cannot mount /dev"',
    // One copy (each command costs a process): the host's device nodes and the driver's
    // skeleton (pts/, the symlinks, the console's mount point).
    `cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "$RUN/${RUN_FILES.devSkeleton}/." "$R/dev/" || fail "cannot populate /dev"`,
    'mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts" || fail "cannot mount /dev/pts"',
  );
  if (spec.console) {
    lines.push(
      'tty=$(tty) || fail "the console is not a terminal"',
      'mount --bind "$tty" "$R/dev/console" || fail "cannot bind the console"',
    );
  }
  if (spec.rootReadonly) {
    lines.push('mount -o remount,bind,ro "$R" || fail "cannot make the root read-only"');
  }
  lines.push(
    // The container's own UTS namespace, through its /proc (a builtin echo, not a process).
    `echo ${q(spec.hostname)} > "$R/proc/sys/kernel/hostname" || fail "cannot set the host name"`,
    `exec 8<>"$RUN/${RUN_FILES.go}" || fail "cannot open the go fifo"`,
    'cd "$R" && pivot_root . . && umount -l . || fail "cannot pivot into the root"',
    "cd /",
    `[ -d ${q(spec.initDir)} ] || fail ${
      q(`init folder '${spec.initDir}' does not exist in the container`)
    }`,
    `[ -f ${q(spec.init)} ] && [ -x ${q(spec.init)} ] || fail ${
      q(`init '${spec.init}' does not exist or is not executable in the container`)
    }`,
    "echo ready >&9",
    "read -r go <&8 || exit 1",
    "exec 8<&- 9>&-",
    `cd ${q(spec.initDir)}`,
    "unset RUN R tty go d",
    "export PATH=/bin:/sbin:/usr/bin:/usr/sbin TERM=linux container=lxc-libvirt",
    `export container_uuid=${q(options.uuid)} LIBVIRT_LXC_UUID=${
      q(options.uuid)
    } LIBVIRT_LXC_NAME=${q(options.name)}`,
    ...spec.initEnv.map(([name, value]) => `export ${name}=${q(value)}`),
    `exec ${[spec.init, ...spec.initArgs].map(q).join(" ")}`,
    "",
  );
  return lines.join("\n");
}
