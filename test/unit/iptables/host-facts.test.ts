import t from 'tap';
import { detectIpv6, parsePasswdUid, parseResolvConf } from '../../../src/iptables/host-facts';

t.test('resolv.conf nameservers', async (t) => {
  t.same(parseResolvConf('# c\nsearch ns.svc.cluster.local\nnameserver 10.96.0.10\n  nameserver\tfd00::a \noptions ndots:5\nnameserver\n'), ['10.96.0.10', 'fd00::a']);
});

t.test('passwd uid lookup', async (t) => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\nistio-proxy:x:1337:1337::/home:/bin/false\n';
  t.equal(parsePasswdUid(passwd, 'istio-proxy'), '1337');
  t.equal(parsePasswdUid(passwd, 'nobody'), undefined);
});

t.test('IPv6 detection skips loopback and link-local', async (t) => {
  t.equal(detectIpv6(['127.0.0.1', '::1', '169.254.1.1', 'fe80::1%eth0', '10.0.0.2'], false), false);
  t.equal(detectIpv6(['127.0.0.1', 'fe80::1', 'fd00::2', '10.0.0.2'], false), true);
  t.equal(detectIpv6(['::ffff:10.0.0.2'], false), false, 'IPv4-mapped counts as IPv4');
  t.equal(detectIpv6(['10.0.0.2', 'fd00::2'], true), true, 'dual stack: any IPv6 address');
  t.equal(detectIpv6(['10.0.0.2'], true), false);
  t.equal(detectIpv6(['127.0.0.1', 'fe80::1'], false), 'no valid local IP address found');
});
