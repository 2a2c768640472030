import t from 'tap';
import fs from 'node:fs';
import { messageCodec, serviceDefinition } from '../../fakes/proto-service';
import { protoPath } from '../../fakes/repo-root';
import { TEST_SERVICES, testServiceDefinition, type EchoRequest } from '../../fakes/test-services';

t.test('every test proto loads and yields method paths', async (t) => {
  for (const { file } of Object.values(TEST_SERVICES)) t.ok(fs.existsSync(protoPath(file)), file);
  const paths = (kind: keyof typeof TEST_SERVICES) => Object.values(testServiceDefinition(kind)).map((m) => m.path).sort();
  t.same(paths('echo'), ['/legate.test.Echo/Bidi', '/legate.test.Echo/ClientStream', '/legate.test.Echo/ServerStream', '/legate.test.Echo/Unary']);
  t.same(paths('dubbo'), [
    '/org.apache.dubbo.samples.Greeter/greet',
    '/org.apache.dubbo.samples.Greeter/greetServerStream',
    '/org.apache.dubbo.samples.Greeter/greetStream',
  ]);
  t.same(paths('helloworld'), ['/helloworld.Greeter/SayHello']);
  t.same(paths('health'), ['/grpc.health.v1.Health/Check', '/grpc.health.v1.Health/Watch']);
  const dubbo = serviceDefinition('dubbo_greeter.proto', 'org.apache.dubbo.samples.Greeter');
  t.equal(dubbo['greetStream']?.requestStream, true);
  t.equal(dubbo['greetStream']?.responseStream, true);
  t.equal(dubbo['greetServerStream']?.requestStream, false);
  t.equal(dubbo['greetServerStream']?.responseStream, true);
  t.equal(testServiceDefinition('helloworld')['SayHello']?.originalName, 'sayHello');
});

t.test('codec round trip with defaults, maps, bytes, enums', async (t) => {
  const codec = messageCodec<EchoRequest>('legate_test.proto', 'legate.test.EchoRequest');
  t.equal(codec.typeName, 'legate.test.EchoRequest');
  const decoded = codec.decode(codec.encode({ payload: Buffer.from([1, 2, 3]), count: 4, response_headers: { a: 'b' } }));
  t.same(decoded.payload, Buffer.from([1, 2, 3]));
  t.equal(decoded.count, 4);
  t.equal(decoded.reply_status, 0, 'defaults present');
  t.same(decoded.response_headers, { a: 'b' });
  t.same(decoded.response_trailers, {});
  t.ok(Buffer.isBuffer(codec.decode(codec.encode({})).payload), 'empty bytes decode as Buffer');

  const hello = messageCodec<{ name: string }>('helloworld.proto', 'helloworld.HelloRequest');
  t.same([...hello.encode({ name: 'world' })], [0x0a, 5, ...Buffer.from('world')]);
  const health = messageCodec<{ status: string }>('grpc_health_v1.proto', 'grpc.health.v1.HealthCheckResponse');
  t.equal(health.decode(health.encode({ status: 'NOT_SERVING' })).status, 'NOT_SERVING');
  t.equal(health.decode(Buffer.from([0x08, 1])).status, 'SERVING');
});
