/**
 * Handlers of `legate.test.Echo` (protos/legate_test.proto): every call reports
 * the backend's name and what the backend received, and obeys the control fields
 * of the request (status to finish with, sleep, response metadata, stream length).
 */
import * as grpc from '@grpc/grpc-js';
import {
  deadlineRemainingMs,
  metadataToRecord,
  pauseUnlessCancelled,
  recordToMetadata,
} from './metadata-util';
import type { EchoRequest, EchoResponse } from './test-services';

type AnyServerCall =
  | grpc.ServerUnaryCall<EchoRequest, EchoResponse>
  | grpc.ServerReadableStream<EchoRequest, EchoResponse>
  | grpc.ServerWritableStream<EchoRequest, EchoResponse>
  | grpc.ServerDuplexStream<EchoRequest, EchoResponse>;

/** What a call knew when it started; copied into every response of the call. */
interface CallFacts {
  readonly request_metadata: Record<string, string>;
  readonly method: string;
  readonly authority: string;
  readonly deadline_remaining_ms: number;
  readonly peer: string;
}

function factsOf(call: AnyServerCall): CallFacts {
  return {
    request_metadata: metadataToRecord(call.metadata),
    method: call.getPath(),
    authority: call.getHost(),
    deadline_remaining_ms: deadlineRemainingMs(call.getDeadline()),
    peer: call.getPeer(),
  };
}

function payloadFor(request: EchoRequest | undefined): Buffer {
  if (request === undefined) return Buffer.alloc(0);
  return request.response_size > 0 ? Buffer.alloc(request.response_size, 0x61) : request.payload;
}

function errorOf(request: EchoRequest): grpc.ServerErrorResponse {
  return Object.assign(new Error(request.reply_message), {
    code: request.reply_status as grpc.status,
    details: request.reply_message,
    metadata: recordToMetadata(request.response_trailers),
  });
}

function sendHeadersIfAny(call: AnyServerCall, request: EchoRequest | undefined): void {
  if (request !== undefined && Object.keys(request.response_headers).length > 0) {
    call.sendMetadata(recordToMetadata(request.response_headers));
  }
}

/** Finish a streaming call: OK with the request's trailers, or its reply_status. */
function finishStream(
  call: grpc.ServerWritableStream<EchoRequest, EchoResponse> | grpc.ServerDuplexStream<EchoRequest, EchoResponse>,
  request: EchoRequest | undefined,
): void {
  if (request !== undefined && request.reply_status !== 0) call.emit('error', errorOf(request));
  else call.end(recordToMetadata(request?.response_trailers));
}

/**
 * The four Echo handlers, answering as backend `backendName`.
 * Unary and ClientStream sleep `sleep_ms` once before replying; ServerStream and
 * Bidi sleep before each response. ClientStream and Bidi take their control
 * fields from the last request received.
 */
export function echoHandlers(backendName: string): grpc.UntypedServiceImplementation {
  const respond = (facts: CallFacts, payload: Buffer, index: number, received: number): EchoResponse => ({
    backend: backendName,
    payload,
    index,
    received,
    ...facts,
  });

  const unary = async (
    call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>,
    callback: grpc.sendUnaryData<EchoResponse>,
  ): Promise<void> => {
    const facts = factsOf(call);
    const request = call.request;
    if (!(await pauseUnlessCancelled(request.sleep_ms, call))) return;
    sendHeadersIfAny(call, request);
    if (request.reply_status !== 0) callback(errorOf(request));
    else callback(null, respond(facts, payloadFor(request), 0, 1), recordToMetadata(request.response_trailers));
  };

  const serverStream = async (call: grpc.ServerWritableStream<EchoRequest, EchoResponse>): Promise<void> => {
    const facts = factsOf(call);
    const request = call.request;
    sendHeadersIfAny(call, request);
    const count = Math.max(1, request.count);
    for (let i = 0; i < count; i++) {
      if (!(await pauseUnlessCancelled(request.sleep_ms, call))) return;
      call.write(respond(facts, payloadFor(request), i, 1));
    }
    finishStream(call, request);
  };

  const clientStream = (
    call: grpc.ServerReadableStream<EchoRequest, EchoResponse>,
    callback: grpc.sendUnaryData<EchoResponse>,
  ): void => {
    const facts = factsOf(call);
    const payloads: Buffer[] = [];
    let last: EchoRequest | undefined;
    call.on('data', (request: EchoRequest) => {
      last = request;
      payloads.push(request.payload);
    });
    call.on('error', () => undefined); // a cancelled upload is not our failure
    call.on('end', async () => {
      if (last !== undefined && !(await pauseUnlessCancelled(last.sleep_ms, call))) return;
      sendHeadersIfAny(call, last);
      if (last !== undefined && last.reply_status !== 0) {
        callback(errorOf(last));
        return;
      }
      const payload = last !== undefined && last.response_size > 0 ? payloadFor(last) : Buffer.concat(payloads);
      callback(null, respond(facts, payload, 0, payloads.length), recordToMetadata(last?.response_trailers));
    });
  };

  const bidi = (call: grpc.ServerDuplexStream<EchoRequest, EchoResponse>): void => {
    const facts = factsOf(call);
    let received = 0;
    let sent = 0;
    let last: EchoRequest | undefined;
    let finished = false;
    // Requests are answered strictly in order, each after the previous one's sleeps.
    let chain: Promise<void> = Promise.resolve();
    call.on('error', () => undefined);
    call.on('data', (request: EchoRequest) => {
      received++;
      last = request;
      const receivedNow = received;
      chain = chain.then(async () => {
        if (finished) return;
        if (sent === 0) sendHeadersIfAny(call, request);
        for (let i = 0; i < Math.max(1, request.count); i++) {
          if (!(await pauseUnlessCancelled(request.sleep_ms, call))) return;
          call.write(respond(facts, payloadFor(request), sent++, receivedNow));
        }
        // A request carrying a status ends the call right after its own responses.
        if (request.reply_status !== 0) {
          finished = true;
          finishStream(call, request);
        }
      });
    });
    call.on('end', () => {
      void chain.then(() => {
        if (finished || call.cancelled) return;
        finished = true;
        finishStream(call, last !== undefined && last.reply_status === 0 ? last : undefined);
      });
    });
  };

  return { Unary: unary, ServerStream: serverStream, ClientStream: clientStream, Bidi: bidi } as grpc.UntypedServiceImplementation;
}
