import t from 'tap';
import { runIptablesCommand } from '../../../src/iptables/command';
import { buildCaptureRules } from '../../../src/iptables/capture-rules';
import { parseIptablesArgs } from '../../../src/iptables/flags';
import { resolveCaptureConfig } from '../../../src/iptables/resolve-config';
import { buildRestore } from '../../../src/iptables/rule-set';
import type { CommandRunner } from '../../../src/iptables/runner';
import { COMMON_ENV, COMMON_FLAGS, GOLDEN_CASES, goldenFacts, goldenNames, goldenRestoreText } from './golden-helpers';

/** A runner that fails the test if anything is executed: --dry-run must not run tools. */
const noRunner: CommandRunner = {
  run: (file) => Promise.reject(new Error(`dry run executed ${file}`)),
};

t.test('every golden in the fixtures has a flag set', async (t) => {
  t.same(goldenNames(), GOLDEN_CASES.map((c) => c.name).sort());
});

for (const c of GOLDEN_CASES) {
  t.test(`${c.name}.golden: legate iptables --dry-run prints exactly its rule blocks`, async (t) => {
    let stdout = '';
    let stderr = '';
    const argv = [...COMMON_FLAGS, ...c.flags, ...(c.flags.includes('--dry-run') ? [] : ['--dry-run'])];
    const code = await runIptablesCommand(argv, {
      env: COMMON_ENV,
      facts: goldenFacts(c.ipv6),
      runner: noRunner,
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
    });
    t.equal(code, 0, stderr);
    t.equal(stdout, goldenRestoreText(c.name));
  });

  t.test(`${c.name}.golden: the builder's IPv4${c.ipv6 ? ' and IPv6' : ''} payloads`, async (t) => {
    const parsed = parseIptablesArgs([...COMMON_FLAGS, ...c.flags], COMMON_ENV);
    t.same(parsed.errors, []);
    const resolved = resolveCaptureConfig(parsed.options, goldenFacts(c.ipv6));
    t.same(resolved.errors, []);
    const rules = buildCaptureRules(resolved.config!);
    const v4 = buildRestore(rules.v4);
    const v6 = buildRestore(rules.v6);
    t.equal(v6 === '', !c.ipv6, 'IPv6 rules exactly when the pod is IPv6');
    t.equal(v4 + v6, goldenRestoreText(c.name));
  });
}
