/**
 * A file's hole map: every byte written lies in a data run, an all-hole file has none, a file
 * without holes is one run, and the runs found are few and small for a sparse file.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type DataExtent, openFileExtents } from "../../../src/storage/file_extents.ts";
import { sparseShapes, writeSparseFile } from "../../support/sparse_files.ts";
import { withTempDir } from "../../support/temp_dir.ts";

function extentsOf(path: string, from: number, to: number): DataExtent[] {
  const extents = openFileExtents(path);
  try {
    const found: DataExtent[] = [];
    for (
      let data = extents.nextData(from, to);
      data !== null;
      data = extents.nextData(data.end, to)
    ) {
      found.push(data);
    }
    return found;
  } finally {
    extents.close();
  }
}

for (const shape of sparseShapes()) {
  Deno.test(`the hole map covers every byte written: ${shape.name}`, async () => {
    await withTempDir("evirt-extents-", async (dir) => {
      const path = `${dir}/f`;
      await writeSparseFile(path, shape);
      const found = extentsOf(path, 0, shape.sizeBytes);
      for (const { offset, bytes } of shape.data) {
        for (const at of [offset, offset + bytes.length - 1]) {
          assert.ok(found.some((run) => run.start <= at && at < run.end), `byte ${at} in a run`);
        }
      }
      let previous = 0;
      for (const run of found) {
        assert.ok(previous <= run.start && run.start < run.end, JSON.stringify(found));
        assert.ok(run.end <= shape.sizeBytes);
        previous = run.end;
      }
      const dataBytes = found.reduce((sum, run) => sum + run.end - run.start, 0);
      const written = shape.data.reduce((sum, piece) => sum + piece.bytes.length, 0);
      if (written === 0) assert.deepEqual(found, []);
      else if (written === shape.sizeBytes) {
        assert.deepEqual(found, [{ start: 0, end: shape.sizeBytes }]);
      } else {
        // Runs are whole file-system blocks around what was written, far from the length.
        assert.ok(dataBytes < written + shape.data.length * 2 * 65536, `${dataBytes} bytes`);
      }
    });
  });
}

Deno.test("the hole map is cut to the range asked", async () => {
  await withTempDir("evirt-extents-", async (dir) => {
    const path = `${dir}/f`;
    const [shape] = sparseShapes();
    await writeSparseFile(path, shape);
    const at = shape.data[1].offset + 10;
    assert.deepEqual(extentsOf(path, at, at + 5), [{ start: at, end: at + 5 }]);
    assert.deepEqual(extentsOf(path, 1024 * 1024, 2 * 1024 * 1024), []);
  });
});
