import t from 'tap';
import { frameMessage, GrpcFrameDecoder, percentEncodeGrpcMessage, unframeMessages } from '../../fakes/grpc-frame';

t.test('frame and unframe', async (t) => {
  const framed = frameMessage(Buffer.from('\x0a\x05world', 'latin1'));
  t.same([...framed], [0, 0, 0, 0, 7, 0x0a, 5, ...Buffer.from('world')]);
  t.equal(frameMessage(Buffer.alloc(0), true)[0], 1);
  const two = Buffer.concat([framed, frameMessage(Buffer.from('ab'))]);
  t.same(unframeMessages(two).map((f) => f.message.toString('latin1')), ['\x0a\x05world', 'ab']);
  t.same(unframeMessages(Buffer.alloc(0)), []);
  t.throws(() => unframeMessages(framed.subarray(0, 8)), /truncated/);
});

t.test('decoder takes arbitrary chunking', async (t) => {
  const messages = [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(70000, 7)];
  const body = Buffer.concat(messages.map((m) => frameMessage(m)));
  for (const size of [1, 3, 5, 4096, body.length]) {
    const decoder = new GrpcFrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < body.length; i += size) out.push(...decoder.push(body.subarray(i, i + size)).map((f) => f.message));
    t.same(out.map((m) => m.length), [0, 5, 70000], `chunk size ${size}`);
    t.equal(decoder.pendingBytes, 0);
  }
});

t.test('grpc-message percent-encoding', async (t) => {
  t.equal(percentEncodeGrpcMessage('plain text, ok'), 'plain text, ok');
  t.equal(percentEncodeGrpcMessage('100%'), '100%25');
  t.equal(percentEncodeGrpcMessage('é\n'), '%C3%A9%0A');
});
