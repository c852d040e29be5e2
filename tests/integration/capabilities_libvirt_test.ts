/**
 * evirt's capabilities and domain capabilities beside libvirtd's on the same host and QEMU:
 * `virsh domcapabilities` through evirt's libvirt socket names the same emulator, machine, arch
 * and vCPU maximum as libvirtd's, every enum value evirt offers is one libvirtd offers too, its
 * CPU models and their usability agree, and evirt's own CLI prints what virsh prints. Where evirt
 * refuses what libvirt offers, the difference is the documented one ({@linkcode EVIRT_REFUSES}).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { XmlElement } from "../../src/model/xml_extra.ts";
import { readXml } from "../../src/xml/xml_reader.ts";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

/** libvirtd's own socket: the oracle. */
const LIBVIRTD_SOCKET = "/run/libvirt/libvirt-sock";
const LIBVIRTD_URI = "qemu:///system";

/**
 * What libvirt offers and evirt refuses (its QEMU driver answers code 67 for these), by
 * element path: they are reported unsupported or left out of their enum.
 */
const EVIRT_REFUSES: Readonly<Record<string, readonly string[]>> = {
  "os/enum[firmware]": ["efi"],
  "os/loader/enum[secure]": ["yes"],
  "devices/disk/enum[diskDevice]": ["lun"],
  "devices/graphics/enum[type]": ["sdl", "spice", "egl-headless", "dbus"],
  "devices/video/enum[modelType]": ["vmvga"],
  "devices/channel/enum[type]": ["spicevmc"],
};
/** Elements libvirt reports supported that evirt reports unsupported. */
const EVIRT_UNSUPPORTED = [
  "cpu/mode[host-model]",
  "devices/hostdev",
  "devices/filesystem",
  "devices/tpm",
  "devices/redirdev",
];

function children(element: XmlElement, name?: string): XmlElement[] {
  return (element.children ?? []).filter((child): child is XmlElement =>
    typeof child !== "string" && (name === undefined || child.name === name)
  );
}

function text(element: XmlElement | undefined): string {
  return (element?.children ?? []).filter((child) => typeof child === "string").join("").trim();
}

/** Every `<enum>` under `element`, keyed by path (`devices/disk/enum[bus]`), and its values. */
function enums(element: XmlElement, path = ""): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const child of children(element)) {
    if (child.name === "enum") {
      found.set(`${path}enum[${child.attributes?.name}]`, children(child, "value").map(text));
    } else {
      for (const [key, values] of enums(child, `${path}${child.name}/`)) found.set(key, values);
    }
  }
  return found;
}

/** `supported` of every element that has one, keyed by path (`cpu/mode[host-model]`). */
function supports(element: XmlElement, path = ""): Map<string, string> {
  const found = new Map<string, string>();
  for (const child of children(element)) {
    const key = `${path}${child.name}${
      child.attributes?.name === undefined ? "" : `[${child.attributes.name}]`
    }`;
    if (child.attributes?.supported !== undefined) found.set(key, child.attributes.supported);
    for (const [inner, value] of supports(child, `${key}/`)) found.set(inner, value);
  }
  return found;
}

function models(root: XmlElement): Map<string, string> {
  const custom = children(children(root, "cpu")[0], "mode")
    .find((mode) => mode.attributes?.name === "custom")!;
  return new Map(children(custom, "model").map((model) => [text(model), model.attributes!.usable]));
}

testIf(
  "domain capabilities agree with libvirtd's on the same QEMU, but for what evirt refuses",
  missing("virsh", "qemu-system-x86_64", LIBVIRTD_SOCKET),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    try {
      for (const machine of [[], ["--machine", "q35"]]) {
        const args = ["domcapabilities", "--virttype", "qemu", ...machine];
        const ours = await runVirsh(socketUri(`${dirs.runtimeDir}/libvirt-sock`), args);
        const theirs = await runVirsh(LIBVIRTD_URI, args);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(theirs.code, 0, theirs.stderr);
        const evirt = readXml(ours.stdout);
        const libvirt = readXml(theirs.stdout);

        for (const name of ["path", "domain", "machine", "arch"]) {
          assert.equal(text(children(evirt, name)[0]), text(children(libvirt, name)[0]), name);
        }
        assert.equal(
          children(evirt, "vcpu")[0].attributes?.max,
          children(libvirt, "vcpu")[0].attributes?.max,
          "vcpu max",
        );

        // Every value evirt offers, libvirt offers; what libvirt offers beyond is refused.
        const theirEnums = enums(libvirt);
        for (const [key, values] of enums(evirt)) {
          const offered = theirEnums.get(key);
          assert.ok(offered !== undefined, `libvirt has no ${key}`);
          assert.deepEqual(values.filter((value) => !offered.includes(value)), [], key);
          const beyond = offered.filter((value) => !values.includes(value));
          assert.deepEqual(
            beyond.filter((value) => !(EVIRT_REFUSES[key] ?? []).includes(value)),
            [],
            `${key}: libvirt offers more than the documented refusals`,
          );
        }

        // Supported only where libvirt supports it; unsupported only where documented.
        const theirSupport = supports(libvirt);
        for (const [key, value] of supports(evirt)) {
          const other = theirSupport.get(key);
          if (value === "yes") assert.equal(other, "yes", `${key}: evirt yes, libvirt ${other}`);
          else if (other === "yes") assert.ok(EVIRT_UNSUPPORTED.includes(key), key);
        }

        // libvirt's CPU models are all there, usable alike.
        const ourModels = models(evirt);
        for (const [model, usable] of models(libvirt)) {
          assert.equal(ourModels.get(model), usable, `cpu model ${model}`);
        }

        // evirt's CLI prints what virsh prints through the libvirt socket.
        const cli = await runEvirt([...args], {
          ...service.env,
          EVIRT_DEFAULT_URI: "evirt:///system",
        });
        assert.equal(cli.code, 0, cli.stderr);
        assert.equal(cli.stdout, ours.stdout);
      }
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "capabilities list the host's CPU and NUMA cells and the QEMU guest as libvirtd does",
  missing("virsh", "qemu-system-x86_64", LIBVIRTD_SOCKET),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    try {
      const ours = await runVirsh(socketUri(`${dirs.runtimeDir}/libvirt-sock`), ["capabilities"]);
      const theirs = await runVirsh(LIBVIRTD_URI, ["capabilities"]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(theirs.code, 0, theirs.stderr);
      const evirt = readXml(ours.stdout);
      const libvirt = readXml(theirs.stdout);
      const cpu = (root: XmlElement) => children(children(root, "host")[0], "cpu")[0];
      for (const name of ["arch", "vendor"]) {
        assert.equal(text(children(cpu(evirt), name)[0]), text(children(cpu(libvirt), name)[0]));
      }
      for (const name of ["signature", "topology"]) {
        assert.deepEqual(
          children(cpu(evirt), name)[0]?.attributes,
          children(cpu(libvirt), name)[0]?.attributes,
          name,
        );
      }
      const cells = (root: XmlElement) =>
        children(children(children(root, "host")[0], "topology")[0], "cells")[0];
      assert.equal(cells(evirt).attributes?.num, cells(libvirt).attributes?.num);
      const x86 = (root: XmlElement) =>
        children(root, "guest").map((guest) => children(guest, "arch")[0])
          .find((arch) => arch.attributes?.name === "x86_64")!;
      assert.equal(text(children(x86(evirt), "emulator")[0]), "/usr/bin/qemu-system-x86_64");
      const machines = (root: XmlElement) =>
        new Map(
          children(x86(root), "machine").map((machine) => [
            text(machine),
            `${machine.attributes?.canonical ?? ""} ${machine.attributes?.maxCpus}`,
          ]),
        );
      const ourMachines = machines(evirt);
      for (const [name, facts] of machines(libvirt)) {
        assert.equal(ourMachines.get(name), facts, `machine ${name}`);
      }
      const domainTypes = children(x86(evirt), "domain").map((domain) => domain.attributes?.type);
      assert.ok(domainTypes.includes("qemu"), domainTypes.join(","));
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
