/**
 * Secret values at rest: one file per secret in a folder of the state directory, mode 0600,
 * encrypted with AES-256-GCM under a per-host key (`secrets-encryption-key`, 32 random bytes,
 * mode 0600, made at first use) — as libvirt keeps its values encrypted with its
 * `secrets-encryption-key`. A file is bound to its secret's uuid (the uuid is the cipher's
 * associated data), so a file copied under another secret's name does not decrypt.
 *
 * File layout: `EVS1` (4 bytes), IV (12), tag (16), ciphertext.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { SECRET_VALUE_MAX_BYTES } from "../model/secret.ts";

const MAGIC = new TextEncoder().encode("EVS1");
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const HEADER_BYTES = MAGIC.length + IV_BYTES + TAG_BYTES;

/** The name of the per-host key file. */
export const SECRETS_KEY_FILE = "secrets-encryption-key";

/**
 * The encrypted value files of one host's secrets.
 *
 * @example
 * ```ts ignore
 * const values = SecretValues.open("/var/lib/evirt/secret");
 * values.write("e78d4b51-a2af-485f-b0f5-afca709a80f4", new TextEncoder().encode("pass"));
 * console.log(new TextDecoder().decode(values.read("e78d4b51-a2af-485f-b0f5-afca709a80f4")));
 * ```
 */
export class SecretValues {
  readonly #dir: string;
  readonly #key: Uint8Array;

  private constructor(dir: string, key: Uint8Array) {
    this.#dir = dir;
    this.#key = key;
  }

  /**
   * Opens the folder, making it (0700) and the host's key (0600) when absent.
   *
   * @throws {VirtError} 38 when the key file exists with another size.
   */
  static open(dir: string): SecretValues {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keyPath = `${dir}/${SECRETS_KEY_FILE}`;
    let key: Uint8Array;
    try {
      key = Deno.readFileSync(keyPath);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      key = new Uint8Array(randomBytes(KEY_BYTES));
      writePrivateFile(keyPath, key);
    }
    if (key.length !== KEY_BYTES) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `secrets encryption key '${keyPath}' must be ${KEY_BYTES} bytes, not ${key.length}`,
      );
    }
    return new SecretValues(dir, key);
  }

  /** The file a secret's value is kept in. */
  fileOf(uuid: string): string {
    return `${this.#dir}/${uuid}.value`;
  }

  /** Encrypts and writes a value (atomically: a temporary file renamed over the old). */
  write(uuid: string, value: Uint8Array): void {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(new TextEncoder().encode(uuid));
    const body = new Uint8Array(Buffer.concat([cipher.update(value), cipher.final()]));
    const file = new Uint8Array(HEADER_BYTES + body.length);
    file.set(MAGIC, 0);
    file.set(iv, MAGIC.length);
    file.set(cipher.getAuthTag(), MAGIC.length + IV_BYTES);
    file.set(body, HEADER_BYTES);
    writePrivateFile(this.fileOf(uuid), file);
  }

  /**
   * Reads and decrypts a value; undefined when the secret has no file.
   *
   * @throws {VirtError} 1 when the file is damaged or was not written for this secret.
   */
  read(uuid: string): Uint8Array | undefined {
    let file: Uint8Array;
    try {
      file = Deno.readFileSync(this.fileOf(uuid));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    const damaged = () =>
      new VirtError(ErrorCode.INTERNAL_ERROR, `value file of secret '${uuid}' is damaged`);
    if (
      file.length < HEADER_BYTES || file.length > HEADER_BYTES + SECRET_VALUE_MAX_BYTES ||
      !MAGIC.every((byte, index) => file[index] === byte)
    ) throw damaged();
    try {
      const decipher = createDecipheriv(
        "aes-256-gcm",
        this.#key,
        file.subarray(MAGIC.length, MAGIC.length + IV_BYTES),
      );
      decipher.setAAD(new TextEncoder().encode(uuid));
      decipher.setAuthTag(file.subarray(MAGIC.length + IV_BYTES, HEADER_BYTES));
      return new Uint8Array(
        Buffer.concat([decipher.update(file.subarray(HEADER_BYTES)), decipher.final()]),
      );
    } catch {
      throw damaged();
    }
  }

  /** Removes a secret's value file, if any. */
  remove(uuid: string): void {
    try {
      Deno.removeSync(this.fileOf(uuid));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /** The uuids that have a value file. */
  uuids(): string[] {
    const uuids: string[] = [];
    for (const entry of Deno.readDirSync(this.#dir)) {
      if (entry.isFile && entry.name.endsWith(".value")) uuids.push(entry.name.slice(0, -6));
    }
    return uuids;
  }
}

/** Writes a file only its owner can read: a 0600 temporary file, synced, renamed into place. */
function writePrivateFile(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.tmp`;
  const file = Deno.openSync(temporary, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    Deno.chmodSync(temporary, 0o600);
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    file.syncSync();
  } finally {
    file.close();
  }
  Deno.renameSync(temporary, path);
}
