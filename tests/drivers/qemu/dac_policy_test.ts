import assert from "node:assert/strict";
import {
  dacPolicy,
  domainSeclabel,
  labelTargets,
  refuseUnconfinable,
} from "../../../drivers/qemu/dac_policy.ts";
import type { DomainDefinition, XmlElement } from "../../../src/model/domain.ts";
import { ErrorCode, type ErrorCodeValue, isVirtError } from "../../../src/model/errors.ts";
import { qemuDefinition } from "./_qemu_definitions.ts";

const SETTINGS = { user: { uid: 64055, gid: 64055 }, dynamicOwnership: true };
const numeric = (label: string) => {
  const [uid, gid] = label.split(":").map((part) => Number(part.replace("+", "")));
  return { uid, gid };
};

function withSeclabel(attributes: Record<string, string>, label?: string): DomainDefinition {
  const element: XmlElement = {
    name: "seclabel",
    attributes,
    ...(label === undefined ? {} : { children: [{ name: "label", children: [label] }] }),
  };
  return qemuDefinition({ extra: { elements: [{ element }] } });
}

Deno.test("domainSeclabel completes libvirt's defaults", () => {
  assert.deepEqual(domainSeclabel(qemuDefinition()), { type: "dynamic", relabel: true });
  assert.deepEqual(domainSeclabel(withSeclabel({ type: "none" })), {
    type: "none",
    relabel: false,
  });
  assert.deepEqual(domainSeclabel(withSeclabel({ type: "static", model: "dac" }, "+107:+107")), {
    type: "static",
    relabel: false,
    label: "+107:+107",
  });
  assert.deepEqual(domainSeclabel(withSeclabel({ model: "none" })), {
    type: "dynamic",
    relabel: true,
  });
});

Deno.test("domainSeclabel refuses what libvirt refuses, with its messages", () => {
  const cases: Array<[DomainDefinition, ErrorCodeValue, string]> = [
    [
      withSeclabel({ type: "dynamic", model: "dac", relabel: "no" }),
      ErrorCode.CONFIG_UNSUPPORTED,
      "dynamic label type must use resource relabeling",
    ],
    [
      withSeclabel({ type: "none", relabel: "yes" }),
      ErrorCode.CONFIG_UNSUPPORTED,
      "resource relabeling is not compatible with 'none' label type",
    ],
    [
      withSeclabel({ type: "static", model: "dac" }),
      ErrorCode.XML_ERROR,
      "security label is missing",
    ],
    [
      withSeclabel({ type: "static", model: "dac" }, "qemu"),
      ErrorCode.INVALID_ARG,
      `Missing separator ':' in DAC label "qemu"`,
    ],
    [
      withSeclabel({ type: "dynamic", model: "selinux" }),
      ErrorCode.CONFIG_UNSUPPORTED,
      "Security driver model 'selinux' is not available",
    ],
  ];
  for (const [definition, code, message] of cases) {
    assert.throws(
      () => domainSeclabel(definition),
      (error) => isVirtError(error, code) && error.message.endsWith(message),
      message,
    );
  }
});

Deno.test("dacPolicy: the QEMU user by default, root for none, the label's ids for static", () => {
  assert.deepEqual(dacPolicy(qemuDefinition(), SETTINGS, numeric).runAs, {
    uid: 64055,
    gid: 64055,
    initGroups: true,
  });
  assert.equal(dacPolicy(withSeclabel({ type: "none" }), SETTINGS, numeric).runAs, undefined);
  const fixed = dacPolicy(withSeclabel({ type: "static" }, "+107:+108"), SETTINGS, numeric);
  assert.deepEqual(fixed.runAs, { uid: 107, gid: 108, initGroups: false });
  assert.equal(fixed.imageLabel, undefined, "static defaults to relabel='no'");
  const relabelled = dacPolicy(
    withSeclabel({ type: "static", relabel: "yes" }, "+107:+108"),
    SETTINGS,
    numeric,
  );
  assert.deepEqual(relabelled.imageLabel, { uid: 107, gid: 108 });
  const session = dacPolicy(
    qemuDefinition(),
    { user: undefined, dynamicOwnership: false },
    numeric,
  );
  assert.equal(session.runAs, undefined, "an unprivileged service runs QEMU as itself");
  const noOwnership = dacPolicy(
    qemuDefinition(),
    { ...SETTINGS, dynamicOwnership: false },
    numeric,
  );
  assert.equal(noOwnership.imageLabel, undefined);
});

Deno.test("labelTargets picks disks, kernel and file chardevs; skips sockets, loader and relabel='no'", () => {
  const definition = qemuDefinition();
  definition.devices.disks.push({
    type: "file",
    device: "disk",
    source: {
      file: "/img/kept.img",
      hosts: [],
      extra: {
        elements: [{ element: { name: "seclabel", attributes: { relabel: "no" } } }],
      },
    },
    target: { dev: "vdb", bus: "virtio" },
  });
  definition.devices.serials.push({ type: "file", sources: [{ path: "/logs/serial.log" }] });
  definition.devices.channels.push({
    type: "unix",
    sources: [{ mode: "bind", path: "/run/x.sock" }],
  });
  const hostPaths = [
    { path: "/img/kept.img", kind: "file" as const, where: "/domain/devices/disk[1]/source/@file" },
    { path: "/boot/vmlinux", kind: "file" as const, where: "/domain/os/kernel" },
    { path: "/fw/OVMF.fd", kind: "file" as const, where: "/domain/os/loader" },
    {
      path: "/logs/serial.log",
      kind: "creatable" as const,
      where: "/domain/devices/serial[1]/source/@path",
    },
    {
      path: "/run/x.sock",
      kind: "creatable" as const,
      where: "/domain/devices/channel[1]/source/@path",
    },
  ];
  const policy = dacPolicy(definition, SETTINGS, numeric);
  const targets = labelTargets(definition, hostPaths, policy, numeric);
  assert.deepEqual(targets.map((target) => [target.path, target.create]), [
    ["/boot/vmlinux", false],
    ["/logs/serial.log", true],
  ]);
});

Deno.test("refuseUnconfinable refuses a multiqueue tap of a confined QEMU, naming it", () => {
  const definition = qemuDefinition();
  definition.devices.interfaces.push(
    { type: "ethernet", target: { dev: "t0" } },
    { type: "ethernet", target: { dev: "t1" }, driver: { queues: "2" } },
  );
  assert.throws(
    () => refuseUnconfinable(definition, dacPolicy(definition, SETTINGS, numeric)),
    (error) =>
      isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED) &&
      error.where === "/domain/devices/interface[2]/driver/@queues",
  );
  const unconfined = { ...definition, extra: withSeclabel({ type: "none" }).extra };
  refuseUnconfinable(unconfined, dacPolicy(unconfined, SETTINGS, numeric));
});
