import http2 from 'node:http2';

export interface H2Response {
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: http2.IncomingHttpHeaders | undefined;
  readonly rstCode: number | undefined;
}

/** One request over a fresh prior-knowledge HTTP/2 connection, with full control of headers. */
export function h2Request(port: number, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on('response', (h) => (resHeaders = h));
    req.on('trailers', (tr) => (trailers = tr));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('close', () => {
      session.close();
      resolve({ headers: resHeaders, body: Buffer.concat(chunks), trailers, rstCode: req.rstCode });
    });
    if (body !== undefined) req.end(body);
  });
}
