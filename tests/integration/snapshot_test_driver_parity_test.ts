/**
 * The snapshot verbs of `evirt -c test:///default` beside `virsh -c test:///default` (libvirt
 * 9.0's test driver, which keeps snapshots as metadata): the same command strings give the same
 * stdout, stderr and exit code, creation times aside (each side reads its own clock; both are
 * replaced by a placeholder before comparing).
 */

import type { ChildRun } from "../support/child_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { assertSameAsTestDriver, evirtTestDriver } from "../support/test_driver_oracle.ts";

const skipReason = missing("virsh");

/** Creation times: table cells, `<creationTime>`, and the names of unnamed snapshots. */
function withoutTimes(text: string): string {
  return text
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, "<time>")
    .replace(/\b1\d{9}\b/g, "<seconds>");
}

/** Answers with creation times replaced by placeholders. */
function normal(answer: ChildRun): ChildRun {
  return { ...answer, stdout: withoutTimes(answer.stdout), stderr: withoutTimes(answer.stderr) };
}

function assertSameAnswers(
  sequences: readonly string[],
  env: Record<string, string> = {},
): Promise<void> {
  return assertSameAsTestDriver(
    sequences,
    (sequence) => evirtTestDriver(sequence, env),
    { normal, env: { TZ: "UTC", ...env } },
  );
}

testIf(
  "test:///default: snapshot create, list (table, --parent, --tree, --name, filters), info, parent, current, dumpxml as libvirt's test driver",
  skipReason,
  async () => {
    await assertSameAnswers([
      "snapshot-create-as test s1 --description 'first one'; snapshot-create-as test s2; " +
      "snapshot-revert test s1; snapshot-create-as test s3; snapshot-list test; " +
      "snapshot-list test --parent; snapshot-list test --tree; snapshot-list test --roots; " +
      "snapshot-list test --leaves; snapshot-list test --no-leaves --name; " +
      "snapshot-list test --from s1 --descendants --name; snapshot-list test --current; " +
      "snapshot-info test s1; snapshot-info test --current; snapshot-current test --name; " +
      "snapshot-parent test s3; snapshot-parent test s1; snapshot-dumpxml test s2",
      "snapshot-create-as test B; snapshot-create-as test a; snapshot-create-as test C; " +
      "snapshot-list test; snapshot-list test --tree; snapshot-list test --topological --name",
      "snapshot-create test; snapshot-list test --name; snapshot-current test",
      "snapshot-create-as test x --print-xml --description d; snapshot-create-as test --print-xml",
      "destroy test; snapshot-create-as test off; snapshot-list test --inactive --name; " +
      "snapshot-list test --active --name; snapshot-info test off; undefine test",
    ]);
  },
);

testIf(
  "test:///default: snapshot revert and delete (children, children-only, metadata) as libvirt's test driver",
  skipReason,
  async () => {
    await assertSameAnswers([
      "snapshot-create-as test s1; snapshot-revert test s1; domstate test --reason; " +
      "snapshot-revert test s1 --paused; domstate test --reason; " +
      "snapshot-revert test s1 --running --paused; destroy test; snapshot-create-as test off1; " +
      "snapshot-revert test s1; domstate test --reason; snapshot-revert test off1; " +
      "domstate test --reason; snapshot-current test --name",
      "snapshot-create-as test s1; snapshot-create-as test s2; snapshot-create-as test s3; " +
      "snapshot-delete test s1 --children-only; snapshot-list test --tree; " +
      "snapshot-create-as test s4; snapshot-delete test s4 --metadata; " +
      "snapshot-current test --name; snapshot-delete test s1 --children; snapshot-list test",
      "snapshot-create-as test s1; snapshot-create-as test s2; snapshot-delete test s1; " +
      "snapshot-list test --parent; snapshot-current test s2; snapshot-info test s2",
      "snapshot-create-as test --halt h1; domstate test --reason; snapshot-info test h1",
    ]);
  },
);

testIf(
  "test:///default: bad snapshot commands fail as libvirt's test driver's, changing nothing",
  skipReason,
  async () => {
    await assertSameAnswers([
      "snapshot-create-as test s1; snapshot-create-as test s1; snapshot-list test --name",
      "snapshot-revert test nope; snapshot-info test nope; snapshot-delete test nope; " +
      "snapshot-dumpxml test nope; snapshot-current test",
      "snapshot-create-as test --no-metadata n; snapshot-create-as test --disk-only d; " +
      "snapshot-list test --name",
      "snapshot-list test --tree --name; snapshot-list test --roots --tree; snapshot-info test",
      "destroy test; snapshot-create-as test x; undefine test; list --all",
    ]);
  },
);

testIf(
  "test:///default: snapshot-edit records the edited document as libvirt's test driver",
  skipReason,
  async () => {
    await assertSameAnswers([
      "snapshot-create-as test s1 --description old; snapshot-edit test s1; " +
      "snapshot-info test s1; snapshot-edit test --current; snapshot-dumpxml test s1",
    ], { EDITOR: "sed -i s/old/new/" });
  },
);
