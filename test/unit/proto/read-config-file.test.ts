/**
 * Tests of src/bootstrap/read-config-file.ts (kept next to the proto tests,
 * whose decoder it feeds).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { describeIssue, locateField, parseConfigText, readConfigFile } from '../../../src/bootstrap/read-config-file';
import { lookupMessage } from '../../../src/proto/envoy-protos';
import { decodeJson } from '../../../src/proto/proto-json';

const CONFIG = `# a comment
admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: 9901 }
static_resources:
  clusters:
  - name: first
    connect_timeout: 1s
  - name: second
    connectTimeout: abc
    loadAssignment:
      clusterName: second
      endpoints:
      - lbEndpoints:
        - endpoint: {}
`;

function tmpFile(t: tap.Test, name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-cfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

t.test('format by extension; YAML for unknown extensions; .pb/.pb_text refused', async (t) => {
  const yaml = readConfigFile(tmpFile(t, 'envoy.yaml', 'a: 1\n'));
  t.strictSame('json' in yaml && yaml.json, { a: 1 });
  t.equal('format' in yaml && yaml.format, 'yaml');
  const json = readConfigFile(tmpFile(t, 'envoy.json', '{"a": [1, 2]}'));
  t.strictSame('json' in json && json.json, { a: [1, 2] });
  t.equal('format' in json && json.format, 'json');
  const other = readConfigFile(tmpFile(t, 'envoy.conf', '{"a": true}'));
  t.strictSame('json' in other && other.json, { a: true }, 'JSON text in a YAML-read file');
  t.match(readConfigFile('/etc/envoy.pb'), { error: /\.pb\) are not supported/ });
  t.match(readConfigFile('/etc/envoy.pb_text'), { error: /\.pb_text\) are not supported/ });
  t.match(readConfigFile(path.join(os.tmpdir(), 'does-not-exist.yaml')), { error: /does-not-exist\.yaml: cannot read the file: ENOENT/ });
});

t.test('YAML errors carry file:line:col', async (t) => {
  t.strictSame(parseConfigText('a: 1\na: 2\n', 'yaml', 'config.yaml'), { error: 'config.yaml:2:1: Map keys must be unique' });
  t.strictSame(parseConfigText('a:\n  - b\n  c: 1\n', 'yaml', 'config.yaml'), { error: 'config.yaml:3:1: All mapping items must start at the same column' });
  t.match(parseConfigText('a: [1, 2\n', 'yaml', 'config.yaml'), { error: /^config\.yaml:2:1: / });
  t.strictSame(parseConfigText('a: 1\n---\nb: 2\n', 'yaml', 'x.yaml'), { error: 'x.yaml:2:1: a configuration must be a single YAML document' });
  t.strictSame(parseConfigText('  \n', 'yaml', 'x.yaml'), { error: 'x.yaml: the configuration is empty' });
  t.strictSame(parseConfigText('# only a comment\n', 'yaml', 'x.yaml'), { error: 'x.yaml: the configuration is empty' });
});

t.test('JSON errors carry file:line:col', async (t) => {
  t.strictSame(parseConfigText('{\n  "a": 1,\n  "b": tru\n}', 'json', 'c.json'), { error: 'c.json:3:8: invalid JSON: unexpected "t"' });
  t.strictSame(parseConfigText('{"a": 1,}', 'json', 'c.json'), { error: 'c.json:1:9: invalid JSON: expected a quoted key but found "}"' });
  t.strictSame(parseConfigText('{"a": 1', 'json', 'c.json'), { error: 'c.json:1:8: invalid JSON: unexpected end of input' });
  t.strictSame(parseConfigText('[1] 2', 'json', 'c.json'), { error: 'c.json:1:5: invalid JSON: unexpected content after the JSON value' });
});

t.test('anchors and merge keys are resolved', async (t) => {
  const r = parseConfigText('base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n', 'yaml', 'x.yaml');
  t.strictSame('json' in r && r.json, { base: { x: 1 }, use: { x: 1, y: 2 } });
});

t.test('locateField maps issue paths to positions (snake_case paths, camelCase files)', async (t) => {
  t.strictSame(locateField(CONFIG, 'static_resources.clusters[0].connect_timeout'), { line: 8, col: 5 });
  t.strictSame(locateField(CONFIG, 'static_resources.clusters[1].connect_timeout'), { line: 10, col: 5 }, 'camelCase key');
  t.strictSame(locateField(CONFIG, 'static_resources.clusters[1].load_assignment.endpoints[0].lb_endpoints[0].endpoint'), { line: 15, col: 11 });
  t.strictSame(locateField(CONFIG, 'admin.address.socket_address.port_value'), { line: 4, col: 43 }, 'inside a flow mapping');
  t.strictSame(locateField(CONFIG, 'static_resources.clusters[1].no_such_field'), { line: 9, col: 5 }, 'falls back to the deepest ancestor');
  t.equal(locateField(CONFIG, 'nothing.here'), undefined);
  t.equal(locateField(CONFIG, ''), undefined);
  t.doesNotThrow(() => locateField('a: [', 'a.b[3]'), 'broken text does not throw');
  t.strictSame(locateField('{"a": {"b.c": {"d": 1}}}', 'a["b.c"].d'), { line: 1, col: 16 }, 'JSON text and quoted map keys');
});

t.test('a decode error is reported as file:line:col: path: message', async (t) => {
  const parsed = parseConfigText(CONFIG, 'yaml', 'config.yaml');
  if (!('json' in parsed)) throw new Error(parsed.error);
  const r = decodeJson(lookupMessage('envoy.config.bootstrap.v3.Bootstrap')!, parsed.json);
  t.strictSame(
    r.errors.map((e) => describeIssue('config.yaml', parsed.text, e)),
    ['config.yaml:10:5: static_resources.clusters[1].connect_timeout: invalid duration "abc": expected a string like "1.5s"'],
  );
  t.equal(describeIssue('x.yaml', undefined, { path: '', message: 'm' }), 'x.yaml: m');
});
