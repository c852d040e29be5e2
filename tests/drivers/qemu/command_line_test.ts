import assert from "node:assert/strict";
import {
  emulatorFor,
  machineFamily,
  QEMU_COMMANDLINE_NAMESPACE,
  SANDBOX_OPTION,
} from "../../../drivers/qemu/command_line.ts";
import type { DomainDefinition } from "../../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import {
  assertRefused,
  build,
  qemuDefinition,
  TEST_CONTEXT,
  valuesOf,
  withDevices,
} from "./_qemu_definitions.ts";

Deno.test("buildCommandLine starts paused, without defaults, with the monitor socket and a pid file", () => {
  const { args, emulator } = build(qemuDefinition());
  assert.equal(emulator, TEST_CONTEXT.emulator);
  assert.deepEqual(args.slice(0, 3), ["-name", "guest=vm,debug-threads=on", "-S"]);
  for (const flag of ["-no-user-config", "-nodefaults", "-no-shutdown"]) {
    assert.ok(args.includes(flag), flag);
  }
  assert.deepEqual(valuesOf(args, "-chardev")[0].split(",").slice(0, 2), [
    "socket",
    "id=charmonitor",
  ]);
  assert.ok(valuesOf(args, "-chardev")[0].includes(`path=${TEST_CONTEXT.monitorSocketPath}`));
  assert.deepEqual(valuesOf(args, "-mon"), ["chardev=charmonitor,id=monitor,mode=control"]);
  assert.deepEqual(args.slice(-2), ["-pidfile", TEST_CONTEXT.pidFilePath]);
  // QEMU's sandbox denies the fork that -daemonize needs: the driver detaches QEMU itself.
  assert.equal(args.includes("-daemonize"), false);
  assert.deepEqual(valuesOf(args, "-uuid"), ["c7a5fdbd-edaf-9455-926a-d65c16db1809"]);
  assert.deepEqual(valuesOf(args, "-display"), ["none"]);
});

Deno.test("buildCommandLine picks the accelerator, machine, memory in MiB and vCPUs", () => {
  const { args } = build(qemuDefinition({ memoryKiB: 219100, vcpus: 4, vcpu: { current: 2 } }), {
    accelerator: "kvm",
  });
  assert.deepEqual(valuesOf(args, "-accel"), ["kvm"]);
  assert.deepEqual(valuesOf(args, "-machine"), ["pc,usb=off,dump-guest-core=off,acpi=off"]);
  assert.deepEqual(valuesOf(args, "-m"), ["size=214M"]);
  assert.deepEqual(valuesOf(args, "-smp"), ["2,maxcpus=4,sockets=4,cores=1,threads=1"]);
});

Deno.test("buildCommandLine passes the cpu topology with dies to -smp", () => {
  const definition = qemuDefinition({
    vcpus: 8,
    cpu: { features: [], topology: { sockets: 2, dies: 2, cores: 2, threads: 1 } },
  });
  assert.deepEqual(valuesOf(build(definition).args, "-smp"), [
    "8,sockets=2,dies=2,cores=2,threads=1",
  ]);
});

Deno.test("buildCommandLine escapes commas in the domain name", () => {
  const { args } = build(qemuDefinition({ name: "a,b" }));
  assert.equal(args[1], "guest=a,,b,debug-threads=on");
});

Deno.test("buildCommandLine adds -sandbox only when the emulator supports it", () => {
  assert.deepEqual(valuesOf(build(qemuDefinition()).args, "-sandbox"), [SANDBOX_OPTION]);
  assert.deepEqual(valuesOf(build(qemuDefinition(), { sandbox: false }).args, "-sandbox"), []);
});

Deno.test("buildCommandLine turns ACPI off unless the acpi feature is present", () => {
  const withAcpi = build(qemuDefinition({ features: { acpi: {}, apic: {}, pae: {} } }));
  assert.deepEqual(valuesOf(withAcpi.args, "-machine"), ["pc,usb=off,dump-guest-core=off"]);
  assertRefused(qemuDefinition({ features: { hyperv: {} } }), "/domain/features/hyperv");
});

Deno.test("buildCommandLine maps smm and vmport to machine properties and pmu to the cpu", () => {
  const definition = qemuDefinition({
    features: { acpi: {}, smm: { state: "on" }, vmport: { state: "off" }, pmu: { state: "off" } },
    cpu: { model: "qemu64", features: [] },
  });
  const { args } = build(definition);
  assert.deepEqual(valuesOf(args, "-machine"), [
    "pc,usb=off,dump-guest-core=off,smm=on,vmport=off",
  ]);
  assert.deepEqual(valuesOf(args, "-cpu"), ["qemu64,pmu=off"]);
});

Deno.test("buildCommandLine gives cpu features on or off by policy", () => {
  const definition = qemuDefinition({
    cpu: {
      model: "Haswell",
      features: [
        { name: "vmx", policy: "require" },
        { name: "pclmuldq", policy: "disable" },
        { name: "ssse3", policy: "forbid" },
        { name: "x2apic" },
      ],
    },
  });
  assert.deepEqual(valuesOf(build(definition).args, "-cpu"), [
    "Haswell,vmx=on,pclmulqdq=off,ssse3=off,x2apic=on",
  ]);
});

Deno.test("buildCommandLine leaves host-passthrough under TCG to the start and uses -cpu host under KVM", () => {
  const definition = qemuDefinition({ cpu: { mode: "host-passthrough", features: [] } });
  assertRefused(
    definition,
    "/domain/cpu/@mode",
    /^CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported by hypervisor$/,
  );
  // The define-time check accepts it, as libvirt does.
  assert.deepEqual(valuesOf(build(definition, { atDefine: true }).args, "-cpu"), ["host"]);
  assert.deepEqual(valuesOf(build(definition, { accelerator: "kvm" }).args, "-cpu"), ["host"]);
});

Deno.test("buildCommandLine gives host-model the best CPU of the accelerator, with its features", () => {
  const definition = qemuDefinition({
    cpu: { mode: "host-model", features: [{ name: "invtsc", policy: "require" }] },
  });
  assert.deepEqual(valuesOf(build(definition).args, "-cpu"), ["max,invtsc=on"]);
  assert.deepEqual(valuesOf(build(definition, { accelerator: "kvm" }).args, "-cpu"), [
    "host,invtsc=on",
  ]);
});

Deno.test("buildCommandLine refuses more than three PC boot devices by element", () => {
  const definition = qemuDefinition();
  definition.os.boot = ["hd", "cdrom", "network", "fd"];
  assertRefused(definition, "/domain/os/boot[4]", /too many boot devices for PC/);
  definition.os.boot = ["hd", "cdrom", "network"];
  assert.deepEqual(valuesOf(build(definition).args, "-boot"), ["order=cdn,strict=on"]);
});

Deno.test("buildCommandLine counts a variable clock from local time with basis localtime", () => {
  const line = build(qemuDefinition({
    clock: { offset: "variable", basis: "localtime", adjustment: "0", timers: [] },
  }));
  const offsetMs = -new Date(TEST_CONTEXT.nowMs).getTimezoneOffset() * 60_000;
  assert.deepEqual(valuesOf(line.args, "-rtc"), [
    `base=${new Date(TEST_CONTEXT.nowMs + offsetMs).toISOString().slice(0, 19)}`,
  ]);
});

Deno.test("buildCommandLine writes the clock offset to -rtc", () => {
  const localtime = build(qemuDefinition({ clock: { offset: "localtime", timers: [] } }));
  assert.deepEqual(valuesOf(localtime.args, "-rtc"), ["base=localtime"]);
  const timezone = build(qemuDefinition({
    clock: { offset: "timezone", timezone: "Europe/Paris", timers: [] },
  }));
  assert.deepEqual(valuesOf(timezone.args, "-rtc"), ["base=localtime"]);
  assert.equal(timezone.env.TZ, "Europe/Paris");
  const variable = build(qemuDefinition({
    clock: { offset: "variable", adjustment: "3600", timers: [] },
  }));
  assert.deepEqual(valuesOf(variable.args, "-rtc"), ["base=2024-01-02T04:04:05"]);
});

Deno.test("buildCommandLine maps rtc and hpet timers and refuses timers it cannot set", () => {
  const definition = qemuDefinition({
    clock: {
      offset: "utc",
      timers: [{ name: "rtc", tickpolicy: "catchup", track: "guest" }, {
        name: "hpet",
        present: "no",
      }],
    },
  });
  const { args } = build(definition);
  assert.deepEqual(valuesOf(args, "-rtc"), ["base=utc,driftfix=slew,clock=vm"]);
  assert.ok(valuesOf(args, "-machine")[0].endsWith(",hpet=off"));
  assertRefused(
    qemuDefinition({ clock: { offset: "utc", timers: [{ name: "armvtimer", present: "yes" }] } }),
    "/domain/clock/timer[1]/@name",
  );
  const hyperv = build(
    qemuDefinition({ clock: { offset: "utc", timers: [{ name: "hypervclock", present: "yes" }] } }),
  );
  assert.deepEqual(valuesOf(hyperv.args, "-cpu"), ["qemu64,hv-time=on"]);
  assertRefused(
    qemuDefinition({ clock: { offset: "utc", timers: [{ name: "pit", tickpolicy: "merge" }] } }),
    "/domain/clock/timer[1]/@tickpolicy",
    /^unsupported pit tickpolicy 'merge'$/,
  );
});

Deno.test("buildCommandLine sets the PIT's lost tick policy as libvirt does, under TCG too", () => {
  const pit = (tickpolicy?: string) =>
    valuesOf(
      build(qemuDefinition({ clock: { offset: "utc", timers: [{ name: "pit", tickpolicy }] } }))
        .args,
      "-global",
    );
  assert.deepEqual(pit("delay"), ["kvm-pit.lost_tick_policy=delay"]);
  assert.deepEqual(pit(undefined), ["kvm-pit.lost_tick_policy=delay"]);
  assert.deepEqual(pit("discard"), ["kvm-pit.lost_tick_policy=discard"]);
  assert.deepEqual(pit("catchup"), []);
});

Deno.test("buildCommandLine adds direct kernel boot and checks its paths", () => {
  const line = build(qemuDefinition({
    os: {
      type: "hvm",
      boot: [],
      kernel: "/boot/vmlinux",
      initrd: "/boot/initrd.gz",
      cmdline: "console=ttyS0 quiet",
    },
  }));
  assert.deepEqual(valuesOf(line.args, "-kernel"), ["/boot/vmlinux"]);
  assert.deepEqual(valuesOf(line.args, "-initrd"), ["/boot/initrd.gz"]);
  assert.deepEqual(valuesOf(line.args, "-append"), ["console=ttyS0 quiet"]);
  assert.deepEqual(line.hostPaths, [
    { path: "/boot/vmlinux", kind: "file", where: "/domain/os/kernel" },
    { path: "/boot/initrd.gz", kind: "file", where: "/domain/os/initrd" },
  ]);
});

Deno.test("buildCommandLine writes the boot order and menu, and refuses it with per-device boot", () => {
  const line = build(qemuDefinition({
    os: {
      type: "hvm",
      boot: ["cdrom", "hd", "network"],
      bootmenu: { enable: "yes", timeout: 300 },
    },
  }));
  assert.deepEqual(valuesOf(line.args, "-boot"), ["order=dcn,menu=on,splash-time=300,strict=on"]);
  const both = withDevices(
    (devices) => devices.interfaces.push({ type: "user", boot: { order: 1 } }),
    {
      os: { type: "hvm", boot: ["hd"] },
    },
  );
  assertRefused(both, "/domain/os/boot");
});

Deno.test("buildCommandLine adds -no-reboot when on_reboot is destroy or preserve", () => {
  assert.ok(build(qemuDefinition({ onReboot: "destroy" })).args.includes("-no-reboot"));
  assert.ok(build(qemuDefinition({ onReboot: "preserve" })).args.includes("-no-reboot"));
  assert.ok(!build(qemuDefinition({ onReboot: "restart" })).args.includes("-no-reboot"));
  assertRefused(qemuDefinition({ onCrash: "coredump-destroy" }), "/domain/on_crash");
});

Deno.test("buildCommandLine disables S3 and S4 from <pm> on the machine's power device", () => {
  const pm = {
    name: "pm",
    children: [
      { name: "suspend-to-mem", attributes: { enabled: "no" } },
      { name: "suspend-to-disk", attributes: { enabled: "yes" } },
    ],
  };
  const pc = build(qemuDefinition({ extra: { elements: [{ element: pm }] } }));
  assert.deepEqual(valuesOf(pc.args, "-global"), [
    "PIIX4_PM.disable_s3=1",
    "PIIX4_PM.disable_s4=0",
  ]);
  const q35 = build(qemuDefinition({
    os: { type: "hvm", machine: "q35", boot: [] },
    extra: { elements: [{ element: pm }] },
  }));
  assert.deepEqual(valuesOf(q35.args, "-global"), [
    "ICH9-LPC.disable_s3=1",
    "ICH9-LPC.disable_s4=0",
  ]);
});

Deno.test("buildCommandLine passes <qemu:env> through and refuses raw <qemu:arg>", () => {
  const commandline = (children: { name: string; attributes: Record<string, string> }[]) =>
    qemuDefinition({
      extra: {
        attributes: { "xmlns:qemu": QEMU_COMMANDLINE_NAMESPACE },
        elements: [{ element: { name: "qemu:commandline", children } }],
      },
    });
  const line = build(
    commandline([{ name: "qemu:env", attributes: { name: "QEMU_X", value: "1" } }]),
  );
  assert.equal(line.env.QEMU_X, "1");
  assertRefused(
    commandline([{ name: "qemu:arg", attributes: { value: "-debugcon" } }]),
    "/domain/qemu:commandline/qemu:arg",
  );
  const foreign = qemuDefinition({
    extra: {
      elements: [{ element: { name: "x:commandline", attributes: { "xmlns:x": "urn:x" } } }],
    },
  });
  assertRefused(foreign, "/domain/x:commandline");
});

Deno.test("buildCommandLine builds NUMA cells with one RAM backend each", () => {
  const definition = qemuDefinition({
    vcpus: 4,
    cpu: {
      features: [],
      numa: {
        cells: [
          { id: 0, cpus: "0-1", memoryKiB: 109550 },
          { id: 1, cpus: "2,3", memoryKiB: 109550 },
        ],
      },
    },
  });
  const { args } = build(definition);
  assert.deepEqual(valuesOf(args, "-m"), ["size=214M"]);
  assert.deepEqual(valuesOf(args, "-object"), [
    "memory-backend-ram,id=ram-node0,size=107M",
    "memory-backend-ram,id=ram-node1,size=107M",
  ]);
  assert.deepEqual(valuesOf(args, "-numa"), [
    "node,nodeid=0,cpus=0-1,memdev=ram-node0",
    "node,nodeid=1,cpus=2,cpus=3,memdev=ram-node1",
  ]);
});

Deno.test("buildCommandLine handles <memoryBacking> locked, nosharepages and a memfd source", () => {
  const definition = qemuDefinition({
    extra: {
      elements: [{
        element: {
          name: "memoryBacking",
          children: [
            { name: "locked" },
            { name: "nosharepages" },
            { name: "source", attributes: { type: "memfd" } },
            { name: "access", attributes: { mode: "shared" } },
          ],
        },
      }],
    },
  });
  const { args } = build(definition);
  assert.deepEqual(valuesOf(args, "-overcommit"), ["mem-lock=on"]);
  assert.deepEqual(valuesOf(args, "-object"), [
    "memory-backend-memfd,id=pc.ram,size=214M,share=on",
  ]);
  assert.ok(valuesOf(args, "-machine")[0].includes("mem-merge=off,memory-backend=pc.ram"));
});

/** Mounts of 2 MiB (the default) and 1 GiB pages. */
const HUGETLBFS = [
  { path: "/dev/hugepages", pageSizeKiB: 2048 },
  { path: "/dev/hugepages1G", pageSizeKiB: 1048576 },
];

function withHugepages(
  pages: { size?: string; nodeset?: string }[],
  overrides: Partial<DomainDefinition> = {},
  source?: string,
): DomainDefinition {
  return qemuDefinition({
    ...overrides,
    extra: {
      elements: [{
        element: {
          name: "memoryBacking",
          children: [
            {
              name: "hugepages",
              children: pages.map((attributes) => ({ name: "page", attributes })),
            },
            ...(source === undefined ? [] : [{ name: "source", attributes: { type: source } }]),
          ],
        },
      }],
    },
  });
}

Deno.test("buildCommandLine takes the RAM of <hugepages/> from the default mount, preallocated", () => {
  const line = build(withHugepages([]), { hugetlbfs: HUGETLBFS });
  const folder = "/dev/hugepages/libvirt/qemu/domain-1-vm";
  assert.deepEqual(valuesOf(line.args, "-object"), [
    `memory-backend-file,id=pc.ram,size=214M,mem-path=${folder},prealloc=on`,
  ]);
  assert.ok(valuesOf(line.args, "-machine")[0].endsWith("memory-backend=pc.ram"));
  assert.deepEqual(line.hugepageFolders, [folder]);
});

Deno.test("buildCommandLine takes each NUMA node's RAM from the page whose nodeset holds it", () => {
  const cells = [
    { id: 0, cpus: "0", memoryKiB: 262144 },
    { id: 1, cpus: "1", memoryKiB: 262144 },
    { id: 2, cpus: "2", memoryKiB: 262144 },
  ];
  const definition = withHugepages(
    [{ size: "1048576", nodeset: "1" }, { size: "4", nodeset: "2" }],
    { vcpus: 3, cpu: { features: [], numa: { cells } } },
  );
  const line = build(definition, { hugetlbfs: HUGETLBFS });
  // Node 0 has no page; node 2's is the ordinary page size.
  assert.deepEqual(valuesOf(line.args, "-object"), [
    "memory-backend-ram,id=ram-node0,size=256M",
    "memory-backend-file,id=ram-node1,size=256M,mem-path=/dev/hugepages1G/libvirt/qemu/domain-1-vm,prealloc=on",
    "memory-backend-ram,id=ram-node2,size=256M",
  ]);
  assert.deepEqual(line.hugepageFolders, ["/dev/hugepages1G/libvirt/qemu/domain-1-vm"]);
});

Deno.test("buildCommandLine asks a memfd for huge pages of the page's size", () => {
  const line = build(withHugepages([{ size: "1048576" }], {}, "memfd"), { hugetlbfs: [] });
  assert.deepEqual(valuesOf(line.args, "-object"), [
    "memory-backend-memfd,id=pc.ram,size=214M,prealloc=on,hugetlb=on,hugetlbsize=1073741824",
  ]);
  assert.deepEqual(line.hugepageFolders, []);
});

Deno.test("buildCommandLine refuses huge pages no hugetlbfs mount has at start, not at define", () => {
  const startRefusal = (definition: DomainDefinition, message: string) =>
    assert.throws(() => build(definition, { hugetlbfs: HUGETLBFS.slice(0, 1) }), (error) => {
      assert.ok(error instanceof VirtError);
      assert.equal(error.code, ErrorCode.INTERNAL_ERROR);
      assert.equal(error.message, message);
      assert.equal(error.where, "/domain/memoryBacking/hugepages");
      return true;
    });
  startRefusal(
    withHugepages([{ size: "5120" }]),
    "Unable to find any usable hugetlbfs mount for 5120 KiB",
  );
  assert.throws(() => build(withHugepages([])), /hugetlbfs filesystem is not mounted/);
  const atDefine = build(withHugepages([{ size: "5120" }]), { atDefine: true });
  assert.deepEqual(atDefine.hugepageFolders, []);
});

Deno.test("buildCommandLine refuses what it cannot express, naming the element", () => {
  assertRefused(
    qemuDefinition({
      cputune: {
        vcpupins: [],
        iothreadpins: [{ iothread: 1, cpuset: "0" }],
        vcpuscheds: [],
        iothreadscheds: [],
        cachetunes: [],
        memorytunes: [],
      },
    }),
    "/domain/cputune/iothreadpin",
  );
  assertRefused(
    qemuDefinition({ blkiotune: { devices: [{ path: "/dev/sda", weight: 500 }] } }),
    "/domain/blkiotune/device",
  );
  assertRefused(
    qemuDefinition({ extra: { elements: [{ element: { name: "sysinfo" } }] } }),
    "/domain/sysinfo[1]/@type",
  );
  assertRefused(
    qemuDefinition({
      extra: {
        elements: [{
          element: { name: "seclabel", attributes: { type: "dynamic", model: "selinux" } },
        }],
      },
    }),
    "/domain/seclabel/@model",
  );
  assertRefused(qemuDefinition({ os: { type: "xen", boot: [] } }), "/domain/os/type");
  assertRefused(
    qemuDefinition({ os: { type: "hvm", machine: "microvm", boot: [] } }),
    "/domain/os/type/@machine",
  );
  assertRefused(qemuDefinition({ memoryKiB: 0 }), "/domain/memory");
  assertRefused(qemuDefinition({ vcpus: 2, vcpu: { current: 3 } }), "/domain/vcpu/@current");
});

Deno.test("buildCommandLine accepts perf events: the host counts them, QEMU is not told", () => {
  const plain = build(qemuDefinition()).args;
  const { args } = build(
    qemuDefinition({
      perf: [{ name: "cmt", enabled: "no" }, { name: "cpu_clock", enabled: "yes" }],
    }),
  );
  assert.deepEqual(args, plain);
});

Deno.test("buildCommandLine accepts a seclabel of type none", () => {
  const definition = qemuDefinition({
    extra: { elements: [{ element: { name: "seclabel", attributes: { type: "none" } } }] },
  });
  assert.doesNotThrow(() => build(definition));
});

Deno.test("buildCommandLine refuses a definition without a name as an XML error", () => {
  assert.throws(() => build(qemuDefinition({ name: "" })), (error: unknown) => {
    assert.ok(error instanceof VirtError);
    assert.equal(error.code, ErrorCode.XML_ERROR);
    return true;
  });
});

Deno.test("buildCommandLine adds iothreads and a vmgenid device", () => {
  const { args } = build(qemuDefinition({ iothreads: 2, genid: "" }));
  assert.deepEqual(valuesOf(args, "-object"), ["iothread,id=iothread1", "iothread,id=iothread2"]);
  assert.deepEqual(valuesOf(args, "-device"), ["vmgenid,guid=auto,id=vmgenid0"]);
});

Deno.test("emulatorFor uses <emulator>, else qemu-system-ARCH, and refuses other architectures", () => {
  assert.equal(emulatorFor(qemuDefinition()), "qemu-system-x86_64");
  assert.equal(
    emulatorFor(qemuDefinition({ os: { type: "hvm", arch: "i686", boot: [] } })),
    "qemu-system-i386",
  );
  const custom = withDevices((devices) => devices.emulator = "/opt/qemu/bin/qemu-system-x86_64");
  assert.equal(emulatorFor(custom), "/opt/qemu/bin/qemu-system-x86_64");
  assert.throws(
    () => emulatorFor(qemuDefinition({ os: { type: "hvm", arch: "aarch64", boot: [] } })),
    (error: unknown) => error instanceof VirtError && error.code === ErrorCode.CONFIG_UNSUPPORTED,
  );
});

Deno.test("machineFamily tells i440fx and q35 machine types apart", () => {
  assert.equal(machineFamily(qemuDefinition()), "i440fx");
  assert.equal(
    machineFamily(qemuDefinition({ os: { type: "hvm", machine: "pc-q35-7.2", boot: [] } })),
    "q35",
  );
  assert.equal(machineFamily(qemuDefinition({ os: { type: "hvm", boot: [] } })), "i440fx");
});

Deno.test("buildCommandLine gives KVM the dirty ring of <features><kvm><dirty-ring>, TCG none", () => {
  const withRing = (size: string) =>
    qemuDefinition({
      features: { kvm: {} },
      extra: {
        children: {
          features: {
            children: {
              kvm: {
                elements: [{
                  element: { name: "dirty-ring", attributes: { state: "on", size } },
                }],
              },
            },
          },
        },
      },
    });
  assert.deepEqual(valuesOf(build(withRing("4096"), { accelerator: "kvm" }).args, "-accel"), [
    "kvm,dirty-ring-size=4096",
  ]);
  assert.deepEqual(valuesOf(build(withRing("4096")).args, "-accel"), ["tcg"]);
  assertRefused(withRing("3000"), "/domain/features/kvm/dirty-ring/@size", /power of 2/);
});
