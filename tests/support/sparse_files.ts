/**
 * Sparse files for transfer tests: data written at chosen offsets, the rest left as holes, in
 * the shapes a hole map must get right (data at the start, at the end, at unaligned offsets,
 * a file that is all hole, one with no hole).
 *
 * @module
 */

/** A sparse file's shape: its length and the data written into it. */
export interface SparseShape {
  name: string;
  sizeBytes: number;
  data: { offset: number; bytes: Uint8Array }[];
}

const MIB = 1024 * 1024;

function filled(length: number, seed: number): Uint8Array {
  // Never zero: a data block must not read as a hole.
  return new Uint8Array(length).map((_, index) => 1 + (index * 7 + seed) % 251);
}

/** The shapes every sparse transfer is checked on. */
export function sparseShapes(): SparseShape[] {
  return [
    {
      name: "data at the start, the end and unaligned offsets",
      sizeBytes: 8 * MIB + 333,
      data: [
        { offset: 0, bytes: filled(5000, 1) },
        { offset: 3 * MIB + 4097, bytes: filled(70_001, 2) },
        { offset: 5 * MIB - 17, bytes: filled(34, 3) },
        { offset: 8 * MIB + 300, bytes: filled(33, 4) },
      ],
    },
    { name: "all hole", sizeBytes: 4 * MIB + 5, data: [] },
    { name: "no hole", sizeBytes: MIB + 77, data: [{ offset: 0, bytes: filled(MIB + 77, 5) }] },
  ];
}

/** Writes `shape` at `path`: its data where it says, holes elsewhere. */
export async function writeSparseFile(path: string, shape: SparseShape): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (const { offset, bytes } of shape.data) {
      await file.seek(offset, Deno.SeekMode.Start);
      let rest = bytes;
      while (rest.length > 0) rest = rest.subarray(await file.write(rest));
    }
    await file.truncate(shape.sizeBytes);
  } finally {
    file.close();
  }
}

/** The bytes of `shape` (holes as zeros). */
export function sparseBytes(shape: SparseShape): Uint8Array {
  const bytes = new Uint8Array(shape.sizeBytes);
  for (const { offset, bytes: data } of shape.data) bytes.set(data, offset);
  return bytes;
}

/** The bytes the file system gave `path` (512-byte blocks, as `stat` counts them). */
export async function allocatedBytes(path: string): Promise<number> {
  return (await Deno.stat(path)).blocks! * 512;
}
