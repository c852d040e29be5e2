/**
 * LUKS-encrypted disks as libvirt 9.0 gives them to QEMU: the disk's `<encryption
 * format='luks'>` names a `<secret type='passphrase'>` (by uuid or usage); its value is handed
 * to QEMU as a `secret` object encrypted with the domain's master key (AES-256-CBC, a fresh IV
 * per secret, base64: `-object secret,id=…,data=…,keyid=masterKey0,iv=…,format=base64`), the
 * master key itself being a 32-byte file in the domain's runtime folder (`-object
 * secret,id=masterKey0,format=raw,file=…/master-key.aes`). The format node opens the image with
 * it: `luks` with `key-secret` for a raw LUKS image, `qcow2` with `encrypt.format=luks` and
 * `encrypt.key-secret` for an encrypted qcow2.
 *
 * The passphrase never appears in clear on the command line (nor so in QEMU's log file).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createCipheriv, randomBytes } from "node:crypto";
import type { Disk } from "../../src/model/domain.ts";
import type { XmlElement } from "../../src/model/xml_extra.ts";
import { refuseConfig } from "./config_refusal.ts";

/** The id of the master key's secret object, as libvirt names it. */
export const MASTER_KEY_ID = "masterKey0";

/** The master key's file name in the domain's runtime folder, as libvirt names it. */
export const MASTER_KEY_FILE = "master-key.aes";

/** The master key's size, in bytes (AES-256). */
export const MASTER_KEY_BYTES = 32;

/** A disk's passphrase secret: by uuid, or by usage. */
export type DiskSecretReference = { uuid: string } | { usage: string };

/** A disk's `<encryption>` as the driver takes it. */
export interface DiskEncryption {
  format: "luks";
  secret: DiskSecretReference;
}

/**
 * Encrypts a secret's value for QEMU with the domain's master key; undefined at a dry build
 * (the define-time check, `domxml-to-native`), which writes a placeholder instead.
 */
export type DiskSecretCipher = (
  reference: DiskSecretReference,
  where: string,
) => { data: string; iv: string };

/**
 * The `<encryption>` of a disk, or undefined for none.
 *
 * @throws {VirtError} 67 for an encryption QEMU is not given by this driver: a format other
 *   than luks (the legacy qcow AES), an engine other than qemu, a secret other than one
 *   passphrase.
 *
 * @example
 * ```ts
 * import { diskEncryptionOf } from "./disk_encryption.ts";
 * const disk = {
 *   target: { dev: "vda" },
 *   extra: { elements: [{ element: { name: "encryption", attributes: { format: "luks" },
 *     children: [{ name: "secret", attributes: { type: "passphrase", uuid: "e78d4b51-a2af-485f-b0f5-afca709a80f4" } }] } }] },
 * };
 * console.log(diskEncryptionOf(disk, "/domain/devices/disk[1]")?.secret);
 * // { uuid: "e78d4b51-a2af-485f-b0f5-afca709a80f4" }
 * ```
 */
export function diskEncryptionOf(disk: Disk, where: string): DiskEncryption | undefined {
  const element = disk.extra?.elements?.find((placed) => placed.element.name === "encryption")
    ?.element;
  if (element === undefined) return undefined;
  const at = `${where}/encryption`;
  const format = element.attributes?.format;
  if (format !== "luks") {
    throw refuseConfig(
      `${at}/@format`,
      `disk encryption format '${format ?? ""}' is not supported by the qemu driver`,
    );
  }
  for (const name of Object.keys(element.attributes ?? {})) {
    if (name !== "format" && name !== "engine") {
      throw refuseConfig(`${at}/@${name}`, `attribute '${name}' is not supported`);
    }
  }
  const engine = element.attributes?.engine;
  if (engine !== undefined && engine !== "qemu") {
    throw refuseConfig(`${at}/@engine`, `disk encryption engine '${engine}' is not supported`);
  }
  const children = (element.children ?? []).filter((child): child is XmlElement =>
    typeof child !== "string"
  );
  const secrets = children.filter((child) => child.name === "secret");
  const other = children.find((child) => child.name !== "secret");
  if (other !== undefined) {
    // `<cipher>` and `<ivgen>` describe how a volume is made; a disk only opens its image.
    throw refuseConfig(`${at}/${other.name}`, `element '${other.name}' is not supported here`);
  }
  if (secrets.length !== 1) {
    throw refuseConfig(at, "disk encryption needs exactly one passphrase secret");
  }
  const secret = secrets[0].attributes ?? {};
  if (secret.type !== "passphrase") {
    throw refuseConfig(
      `${at}/secret/@type`,
      `secret type '${secret.type ?? ""}' is not supported for disk encryption`,
    );
  }
  if (secret.uuid !== undefined && secret.usage === undefined) {
    return { format: "luks", secret: { uuid: secret.uuid.toLowerCase() } };
  }
  if (secret.usage !== undefined && secret.uuid === undefined) {
    return { format: "luks", secret: { usage: secret.usage } };
  }
  throw refuseConfig(`${at}/secret`, "either secret uuid or usage expected");
}

/**
 * A fresh master key for a domain's start.
 *
 * @example
 * ```ts
 * import { newMasterKey } from "./disk_encryption.ts";
 * console.log(newMasterKey().length); // 32
 * ```
 */
export function newMasterKey(): Uint8Array {
  return new Uint8Array(randomBytes(MASTER_KEY_BYTES));
}

/**
 * Encrypts a value with a master key as QEMU's `secret` object with `keyid` decrypts it:
 * AES-256-CBC with PKCS#7 padding and a random 16-byte IV; both base64.
 *
 * @example
 * ```ts
 * import { encryptForQemu, newMasterKey } from "./disk_encryption.ts";
 * const { data, iv } = encryptForQemu(newMasterKey(), new TextEncoder().encode("pass"));
 * console.log(atob(iv).length, atob(data).length); // 16 16
 * ```
 */
export function encryptForQemu(
  masterKey: Uint8Array,
  value: Uint8Array,
): { data: string; iv: string } {
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-cbc", masterKey, iv);
  const data = Buffer.concat([cipher.update(value), cipher.final()]);
  return { data: data.toString("base64"), iv: iv.toString("base64") };
}

/**
 * Writes a domain's master key: mode 0600, owned by the user QEMU runs as (when confined), so
 * only QEMU and the service read it.
 *
 * @example
 * ```ts ignore
 * writeMasterKey("/run/evirt/qemu/domain-1-vm/master-key.aes", newMasterKey(), { uid: 64055, gid: 64055 });
 * ```
 */
export function writeMasterKey(
  path: string,
  key: Uint8Array,
  owner: { uid: number; gid: number } | undefined,
): void {
  Deno.writeFileSync(path, key, { mode: 0o600 });
  Deno.chmodSync(path, 0o600);
  if (owner !== undefined) Deno.chownSync(path, owner.uid, owner.gid);
}
