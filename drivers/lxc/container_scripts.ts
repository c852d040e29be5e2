/**
 * The two shell programs that make a container out of a {@linkcode ContainerSpec}, written into
 * the instance's runtime folder before anything is spawned (pure text here).
 *
 * - `supervisor.sh` is the per-container supervisor. It outlives the service (it runs in a
 *   session of its own), runs `unshare` for the namespaces (pid, mount, uts, ipc, net; with
 *   `<idmap>` inside a user namespace it made and mapped first) and waits for it, records the
 *   exit status of the container's init in `exit`, and starts the container again when `reboot`
 *   was asked for. It keeps the console's host-side pty open so the pty stays usable while no
 *   client is attached, and opens the `status`, `go` and `staged` files for each run.
 * - `setup.sh` runs as pid 1 of the new namespaces: it joins the container's cgroup, builds the
 *   root (a bind of the root folder at the runtime folder's `root`, the mounts, `/proc`, `/sys`
 *   read-only, a small `/dev` with its own devpts and the console), sets the host name, becomes
 *   `setpriv` (the init's user, groups and capability cut) while a child pivots into the root
 *   and reports `ready` (or `error …`) in `status`, waits for the go on the `go` fifo (so a
 *   launch leaves the container's init not yet running, as QEMU's `-S`), and execs the init
 *   with its arguments, environment and folder. The pivoting child ends as a zombie the init
 *   reaps (pid 1 cannot wait for it across its exec).
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
  /** The fifo on which the init's process says it is ready for the pivot into the root. */
  staged: "staged",
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

/** Options of {@linkcode supervisorScript}. */
export interface SupervisorOptions {
  /** The instance's runtime folder. */
  runDir: string;
  /**
   * Whether its stdin is the container's console pty (kept open on fd 5 the host side is
   * opened from `console`).
   */
  console: boolean;
  /** The user namespace's `uid_map` and `gid_map` texts (`<idmap>`); absent: none. */
  idmap?: { uidMap: string; gidMap: string };
  /**
   * The `cgroup.procs` files the container joins before it enters its user namespace (with
   * `<idmap>`, its root cannot write the host's cgroup files; without, setup joins itself).
   */
  cgroupJoinFiles: string[];
}

/** The lines of a uid or gid map, as the kernel takes them in one write. */
export function idMapText(ranges: Array<{ start: number; target: number; count: number }>): string {
  return ranges.map(({ start, target, count }) => `${start} ${target} ${count}\n`).join("");
}

/**
 * The supervisor program. Each run of the container is started from the runtime folder (so
 * setup finds its files by relative names: a container root in a user namespace may not pass
 * the folders above it) with the status, go and staging files already open on fds 9, 8, 7.
 *
 * With `<idmap>`, a holder process makes the user namespace first (`unshare --user`), the
 * supervisor writes its maps as the host's root (arbitrary ranges need CAP_SETUID above the
 * namespace), and the container's namespaces are made by an `unshare` that entered it
 * (`nsenter --user`, as its root with full capabilities in it); the holder then ends.
 */
export function supervisorScript(options: SupervisorOptions): string {
  const q = shellQuote;
  const run = q(options.runDir);
  const unshareCommand =
    "unshare --pid --mount --uts --ipc --net --fork --kill-child --propagation private /bin/sh ./setup.sh";
  const fds =
    `<&3 3<&- 5<&- 9>"$RUN/${RUN_FILES.status}" 8<>"$RUN/${RUN_FILES.go}" 7<>"$RUN/${RUN_FILES.staged}"`;
  const join = options.cgroupJoinFiles.map((file) => `echo 0 > ${q(file)} && `).join("");
  const start: string[] = options.idmap === undefined
    ? [`  (cd "$RUN" && exec ${unshareCommand}) ${fds} &`, "  child=$!"]
    : [
      // Bounded: the holder ends by itself after 30 s; it is killed once the container's
      // unshare has entered its namespace. It is in the container's cgroup, so whatever ends
      // the container (or cleans up after a crash) ends it too.
      `  (${join}exec unshare --user sleep 30) </dev/null 3<&- 5<&- 2>>"$RUN/supervisor.log" &`,
      "  holder=$!",
      "  own=$(readlink /proc/self/ns/user)",
      // Bounded (5 s): until the holder has made its namespace (or is gone).
      '  i=0; while [ "$(readlink /proc/$holder/ns/user)" = "$own" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done',
      "  userns=$(readlink /proc/$holder/ns/user)",
      `  if [ -z "$userns" ] || [ "$userns" = "$own" ] || ! printf '%s' ${
        q(options.idmap.uidMap)
      } > /proc/$holder/uid_map || ! printf '%s' ${
        q(options.idmap.gidMap)
      } > /proc/$holder/gid_map; then`,
      `    echo "error cannot make the container's user namespace" > "$RUN/${RUN_FILES.status}"`,
      '    kill "$holder" 2>/dev/null; wait "$holder"',
      `    echo 1 > "$RUN/${RUN_FILES.exit}"`,
      "    break",
      "  fi",
      `  (${join}cd "$RUN" && exec nsenter --user --target "$holder" -- ${unshareCommand}) ${fds} &`,
      "  child=$!",
      // Bounded (5 s): until the child has entered the namespace (or is gone).
      '  i=0; while [ "$(readlink /proc/$child/ns/user)" != "$userns" ] && kill -0 "$child" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done',
      '  kill "$holder" 2>/dev/null; wait "$holder"',
    ];
  return [
    "#!/bin/sh",
    "# evirt lxc supervisor: runs the container, records how its init ended.",
    `RUN=${run}`,
    'echo "$$" > "$RUN/supervisor.pid"',
    // The host side of the console stays open here (fd 5), so reading it never fails while no
    // client is attached. socat makes the link as it opens its first address; wait for it
    // (bounded: 5 s).
    options.console
      ? `i=0; while [ ! -e "$RUN/${RUN_FILES.console}" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; exec 5<>"$RUN/${RUN_FILES.console}"`
      : "exec 5</dev/null",
    "exec 3<&0",
    "while :; do",
    ...start,
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
  /** The `cgroup.procs` files pid 1 writes itself into (none when the supervisor joined). */
  cgroupJoinFiles: string[];
  /** The domain's uuid and name, for the init's environment as libvirt gives them. */
  uuid: string;
  name: string;
  /** `setpriv` options that give the init its identity and cut its capabilities. */
  privilegeArgs: string[];
  /**
   * The init's uid (`<inituser>`): the console pty becomes its, for a shell's job control, as
   * libvirt chowns it. Not in a user namespace, whose root cannot chown the host's pty.
   */
  initUid?: number;
}

/** The host devices a container's `/dev` has. */
const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];

/**
 * The setup program, run as pid 1 of the container's namespaces, from the runtime folder,
 * with the status, go and staging fifos open on fds 9, 8 and 7.
 *
 * The init's identity and capability cut are applied with util-linux `setpriv`, a host
 * program, which cannot run once the root is the container's. So pid 1 builds the root, then
 * a child of it waits on the staging fifo while pid 1 becomes `setpriv … /bin/sh` (the
 * host's, loaded before the pivot); that shell says it is staged, the child pivots the mount
 * namespace into the root (which moves pid 1's root and folder along), checks the init and
 * reports `ready`; the shell waits for the go and execs the init from the container's root.
 */
export function setupScript(spec: ContainerSpec, options: SetupOptions): string {
  const q = shellQuote;
  const userns = spec.idmap !== undefined;
  const lines: string[] = [
    "#!/bin/sh",
    "# evirt lxc setup: pid 1 of the container until it execs the init.",
    `R=./${RUN_FILES.root}`,
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
  );
  if (userns) {
    // No device node can be made in a user namespace: the host's are bound in.
    lines.push(
      `for n in ${
        DEVICES.join(" ")
      }; do : > "$R/dev/$n" && mount --bind "/dev/$n" "$R/dev/$n" || fail "cannot bind /dev/$n"; done`,
      `cp -R ./${RUN_FILES.devSkeleton}/. "$R/dev/" || fail "cannot populate /dev"`,
    );
  } else {
    // One copy (each command costs a process): the host's device nodes and the driver's
    // skeleton (pts/, the symlinks, the console's mount point).
    lines.push(
      `cp -a ${
        DEVICES.map((name) => `/dev/${name}`).join(" ")
      } ./${RUN_FILES.devSkeleton}/. "$R/dev/" || fail "cannot populate /dev"`,
    );
  }
  lines.push(
    'mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts" || fail "cannot mount /dev/pts"',
  );
  if (spec.console) {
    lines.push(
      'tty=$(tty) || fail "the console is not a terminal"',
      'mount --bind "$tty" "$R/dev/console" || fail "cannot bind the console"',
    );
    if (options.initUid !== undefined && !userns) {
      lines.push(
        `chown ${options.initUid} "$tty" || fail "cannot give the console to the init's user"`,
      );
    }
  }
  if (spec.rootReadonly) {
    lines.push('mount -o remount,bind,ro "$R" || fail "cannot make the root read-only"');
  }
  const initCommand = [spec.init, ...spec.initArgs].map(q).join(" ");
  lines.push(
    // The container's own UTS namespace, through its /proc (a builtin echo, not a process);
    // in a user namespace its root may not write /proc/sys, so sethostname(2) through a
    // program: busybox's takes any name as libvirt's does, Debian's `hostname` only a valid
    // DNS name.
    userns
      ? `{ busybox hostname ${q(spec.hostname)} 2>/dev/null || hostname ${
        q(spec.hostname)
      }; } || fail "cannot set the host name"`
      : `echo ${
        q(spec.hostname)
      } > "$R/proc/sys/kernel/hostname" || fail "cannot set the host name"`,
    // The pivot, by a child, once pid 1 is the host's shell waiting for the go.
    "(",
    "  read -r staged <&7 || exit 1",
    "  exec 7<&- 8<&-",
    '  cd -P "$R" && pivot_root . . && umount -l . || fail "cannot pivot into the root"',
    "  cd /",
    `  [ -d ${q(spec.initDir)} ] || fail ${
      q(`init folder '${spec.initDir}' does not exist in the container`)
    }`,
    `  [ -f ${q(spec.init)} ] && [ -x ${q(spec.init)} ] || fail ${
      q(`init '${spec.init}' does not exist or is not executable in the container`)
    }`,
    "  echo ready >&9",
    ") &",
    "cd /",
    "unset R tty d",
    "export PATH=/bin:/sbin:/usr/bin:/usr/sbin TERM=linux container=lxc-libvirt",
    `export container_uuid=${q(options.uuid)} LIBVIRT_LXC_UUID=${
      q(options.uuid)
    } LIBVIRT_LXC_NAME=${q(options.name)}`,
    ...spec.initEnv.map(([name, value]) => `export ${name}=${q(value)}`),
    `exec setpriv ${options.privilegeArgs.map(q).join(" ")} -- /bin/sh -c ${
      q(
        `echo staged >&7; exec 7>&- 9>&-; read -r go <&8 || exit 1; exec 8<&-; unset go; cd ${
          q(spec.initDir)
        } && exec ${initCommand}`,
      )
    } || fail "cannot run setpriv"`,
    "",
  );
  return lines.join("\n");
}
