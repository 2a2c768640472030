/**
 * Handlers of the two greeter services a Dubbo / gRPC provider would expose:
 * `org.apache.dubbo.samples.Greeter` (protos/dubbo_greeter.proto) and
 * `helloworld.Greeter` (protos/helloworld.proto). Every reply reads
 * `hello <name> from <backend>`, so a caller can count which provider served it.
 */
import * as grpc from '@grpc/grpc-js';
import type { GreeterReply, GreeterRequest, HelloReply, HelloRequest } from './test-services';

/** Replies sent by `greetServerStream` for each request. */
export const GREET_SERVER_STREAM_REPLIES = 3;

/** The greeting every greeter fake sends: `hello <name> from <backend>`. */
export function greeting(name: string, backendName: string): string {
  return `hello ${name} from ${backendName}`;
}

/**
 * Which backend produced `message` (the text after the last `" from "`), or
 * `undefined` when it is not one of our greetings.
 */
export function backendOfGreeting(message: string): string | undefined {
  const at = message.lastIndexOf(' from ');
  return at < 0 ? undefined : message.slice(at + ' from '.length);
}

/** Dubbo sample Greeter: `greet` (unary), `greetServerStream`, `greetStream` (bidi). */
export function dubboGreeterHandlers(backendName: string): grpc.UntypedServiceImplementation {
  const greet = (call: grpc.ServerUnaryCall<GreeterRequest, GreeterReply>, callback: grpc.sendUnaryData<GreeterReply>): void => {
    callback(null, { message: greeting(call.request.name, backendName) });
  };
  const greetServerStream = (call: grpc.ServerWritableStream<GreeterRequest, GreeterReply>): void => {
    for (let i = 0; i < GREET_SERVER_STREAM_REPLIES; i++) {
      call.write({ message: greeting(call.request.name, backendName) });
    }
    call.end();
  };
  const greetStream = (call: grpc.ServerDuplexStream<GreeterRequest, GreeterReply>): void => {
    call.on('data', (request: GreeterRequest) => call.write({ message: greeting(request.name, backendName) }));
    call.on('error', () => undefined);
    call.on('end', () => call.end());
  };
  return { greet, greetServerStream, greetStream } as grpc.UntypedServiceImplementation;
}

/** helloworld.Greeter: `SayHello`. */
export function helloworldHandlers(backendName: string): grpc.UntypedServiceImplementation {
  const sayHello = (call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, callback: grpc.sendUnaryData<HelloReply>): void => {
    callback(null, { message: greeting(call.request.name, backendName) });
  };
  return { SayHello: sayHello } as grpc.UntypedServiceImplementation;
}
