/**
 * protobufjs reflection → @grpc/grpc-js service definitions, without
 * @grpc/proto-loader.
 *
 * Messages cross the grpc-js boundary as plain objects in the shape protobufjs'
 * `toObject` produces with {@link TO_OBJECT_OPTIONS}: field names exactly as in the
 * .proto (`reply_status`, not `replyStatus`), every field present (defaults filled in), 64-bit integers as `number`, enums as their
 * names, `bytes` as `Buffer`, maps as plain objects.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { protoPath } from './repo-root';

/** Conversion used for every decoded message (see the module comment). */
export const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
};

const roots = new Map<string, protobuf.Root>();

/**
 * Parse `protos/<file>` (cached per file) and resolve every type in it.
 * Field and method names are kept as written in the proto (`keepCase`).
 */
export function loadProtoRoot(file: string): protobuf.Root {
  let root = roots.get(file);
  if (root === undefined) {
    root = new protobuf.Root().loadSync(protoPath(file), { keepCase: true });
    root.resolveAll();
    roots.set(file, root);
  }
  return root;
}

/** Encoder/decoder pair for one message type, working on plain objects. */
export interface MessageCodec<T> {
  /** Fully qualified type name without a leading dot, e.g. `helloworld.HelloRequest`. */
  readonly typeName: string;
  /** Serialize a plain object (unknown fields are ignored, missing ones take defaults). */
  encode(value: Partial<T>): Buffer;
  /** Parse protobuf bytes into a plain object (see {@link TO_OBJECT_OPTIONS}). */
  decode(bytes: Uint8Array): T;
}

/** Codec for message `typeName` (e.g. `'legate.test.EchoRequest'`) declared in `protos/<file>`. */
export function messageCodec<T>(file: string, typeName: string): MessageCodec<T> {
  return codecOf<T>(loadProtoRoot(file).lookupType(typeName));
}

function codecOf<T>(type: protobuf.Type): MessageCodec<T> {
  return {
    typeName: type.fullName.replace(/^\./, ''),
    encode: (value) => Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish()),
    decode: (bytes) => type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS) as T,
  };
}

/**
 * A grpc-js `ServiceDefinition` for service `serviceName` (fully qualified, e.g.
 * `'legate.test.Echo'`) declared in `protos/<file>`. Keys are the proto's method
 * names (`greet`, `SayHello`); each entry also carries a lower-camel
 * `originalName`, so generated clients answer to both spellings.
 */
export function serviceDefinition(file: string, serviceName: string): grpc.ServiceDefinition {
  const service = loadProtoRoot(file).lookupService(serviceName);
  const fullName = service.fullName.replace(/^\./, '');
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    const request = codecOf<unknown>(method.resolvedRequestType as protobuf.Type);
    const response = codecOf<unknown>(method.resolvedResponseType as protobuf.Type);
    definition[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: (value: unknown) => request.encode(value as object),
      requestDeserialize: (bytes: Buffer) => request.decode(bytes),
      responseSerialize: (value: unknown) => response.encode(value as object),
      responseDeserialize: (bytes: Buffer) => response.decode(bytes),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return definition as grpc.ServiceDefinition;
}
