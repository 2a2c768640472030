/**
 * The four gRPC services our fakes speak: where each proto lives, the service's
 * full name, and the TypeScript shape of its messages as {@link ./proto-service}
 * hands them out (the proto's own snake_case field names, defaults filled in,
 * `bytes` as Buffer).
 */
import type * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from './proto-service';

/** Short names of the services a fake backend can serve. */
export type TestServiceKind = 'echo' | 'dubbo' | 'helloworld' | 'health';

/** Proto file (under `protos/`) and full service name of each {@link TestServiceKind}. */
export const TEST_SERVICES: Readonly<Record<TestServiceKind, { readonly file: string; readonly service: string }>> = {
  echo: { file: 'legate_test.proto', service: 'legate.test.Echo' },
  dubbo: { file: 'dubbo_greeter.proto', service: 'org.apache.dubbo.samples.Greeter' },
  helloworld: { file: 'helloworld.proto', service: 'helloworld.Greeter' },
  health: { file: 'grpc_health_v1.proto', service: 'grpc.health.v1.Health' },
};

const definitions = new Map<TestServiceKind, grpc.ServiceDefinition>();

/** grpc-js service definition of `kind` (built once, then cached). */
export function testServiceDefinition(kind: TestServiceKind): grpc.ServiceDefinition {
  let def = definitions.get(kind);
  if (def === undefined) {
    def = serviceDefinition(TEST_SERVICES[kind].file, TEST_SERVICES[kind].service);
    definitions.set(kind, def);
  }
  return def;
}

// === legate.test.Echo ===

/** `legate.test.EchoRequest`; see protos/legate_test.proto for what each control field does. */
export interface EchoRequest {
  payload: Buffer;
  count: number;
  reply_status: number;
  reply_message: string;
  sleep_ms: number;
  response_headers: Record<string, string>;
  response_trailers: Record<string, string>;
  response_size: number;
}

/** `legate.test.EchoResponse`: who served the call and what it received. */
export interface EchoResponse {
  backend: string;
  payload: Buffer;
  index: number;
  request_metadata: Record<string, string>;
  method: string;
  received: number;
  authority: string;
  deadline_remaining_ms: number;
  peer: string;
}

// === org.apache.dubbo.samples.Greeter / helloworld.Greeter ===

/** `org.apache.dubbo.samples.GreeterRequest`. */
export interface GreeterRequest { name: string }
/** `org.apache.dubbo.samples.GreeterReply`; fakes answer `hello <name> from <backend>`. */
export interface GreeterReply { message: string }
/** `helloworld.HelloRequest`. */
export interface HelloRequest { name: string }
/** `helloworld.HelloReply`; fakes answer `hello <name> from <backend>`. */
export interface HelloReply { message: string }

// === grpc.health.v1.Health ===

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`, by name. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
/** `grpc.health.v1.HealthCheckRequest`. */
export interface HealthCheckRequest { service: string }
/** `grpc.health.v1.HealthCheckResponse`. */
export interface HealthCheckResponse { status: ServingStatus }
