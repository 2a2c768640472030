import t from 'tap';
import { buildRestore, checkCommands, IP_VERSION_SPECIFIC, RuleSet, undoCommands } from '../../../src/iptables/rule-set';

function sample(): RuleSet {
  const b = new RuleSet(true);
  b.insert('PREROUTING', 'nat', 1, '-i', 'eth1', '-j', 'RETURN');
  b.append('ISTIO_REDIRECT', 'nat', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '15001');
  b.append('OUTPUT', 'nat', '-j', 'ISTIO_OUTPUT');
  b.appendVersioned('127.0.0.1/32', '::1/128', 'ISTIO_OUTPUT', 'nat', '-d', IP_VERSION_SPECIFIC, '-j', 'RETURN');
  b.append('ISTIO_OUTPUT', 'nat', '-j', 'ISTIO_REDIRECT');
  b.append('OUTPUT', 'raw', '-j', 'ISTIO_OUTPUT_DNS');
  b.append('PREROUTING', 'mangle', '-p', 'tcp', '-j', 'ISTIO_INBOUND');
  return b;
}

t.test('restore text: tables sorted, -N in first-use order including chains only jumped to', async (t) => {
  t.equal(buildRestore(sample().v4), [
    '* mangle',
    '-N ISTIO_INBOUND',
    '-A PREROUTING -p tcp -j ISTIO_INBOUND',
    'COMMIT',
    '* nat',
    '-N ISTIO_REDIRECT',
    '-N ISTIO_OUTPUT',
    '-I PREROUTING 1 -i eth1 -j RETURN',
    '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
    '-A OUTPUT -j ISTIO_OUTPUT',
    '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    'COMMIT',
    '* raw',
    '-N ISTIO_OUTPUT_DNS',
    '-A OUTPUT -j ISTIO_OUTPUT_DNS',
    'COMMIT',
    '',
  ].join('\n'));
  t.match(buildRestore(sample().v6), /-A ISTIO_OUTPUT -d ::1\/128 -j RETURN/);
  t.equal(buildRestore([]), '');
});

t.test('IPv6 rules are only recorded when enabled', async (t) => {
  const b = new RuleSet(false);
  b.append('OUTPUT', 'nat', '-j', 'ISTIO_OUTPUT');
  b.insertV6('PREROUTING', 'nat', 1, '-j', 'RETURN');
  t.equal(b.v4.length, 1);
  t.equal(b.v6.length, 0);
});

t.test('check commands', async (t) => {
  t.same(checkCommands(sample().v4).slice(0, 2), [
    ['-t', 'nat', '-C', 'PREROUTING', '-i', 'eth1', '-j', 'RETURN'],
    ['-t', 'nat', '-C', 'ISTIO_REDIRECT', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '15001'],
  ]);
});

t.test('undo commands: reverse order, rules in our chains only when they jump, then flush and delete', async (t) => {
  t.same(undoCommands(sample().v4), [
    ['-t', 'mangle', '-D', 'PREROUTING', '-p', 'tcp', '-j', 'ISTIO_INBOUND'],
    ['-t', 'raw', '-D', 'OUTPUT', '-j', 'ISTIO_OUTPUT_DNS'],
    ['-t', 'nat', '-D', 'ISTIO_OUTPUT', '-j', 'ISTIO_REDIRECT'],
    ['-t', 'nat', '-D', 'OUTPUT', '-j', 'ISTIO_OUTPUT'],
    ['-t', 'nat', '-D', 'PREROUTING', '-i', 'eth1', '-j', 'RETURN'],
    ['-t', 'nat', '-F', 'ISTIO_OUTPUT'],
    ['-t', 'nat', '-X', 'ISTIO_OUTPUT'],
    ['-t', 'nat', '-F', 'ISTIO_REDIRECT'],
    ['-t', 'nat', '-X', 'ISTIO_REDIRECT'],
  ]);
});
