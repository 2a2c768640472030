/**
 * Extension registry keyed by the proto type of `typed_config`, as Envoy finds
 * factories by type (envoy/registry/registry.h). Adding an extension is one file
 * plus one line in builtins.ts. An unknown type is reported by name, never ignored
 * silently (unless the config marks it optional, as Envoy allows).
 */
import type { AccessLogModel, HeaderMatcherModel, IstioStatsFilterModel } from '../snapshot/model';
import type { DecodeContext, ProtoObj } from '../xds/resources/decode-context';

/** What an HTTP filter contributes to the filter chain. */
export type HttpFilterModel =
  | { readonly kind: 'router'; readonly suppressEnvoyHeaders: boolean }
  | HealthCheckFilterModel
  /** Accepted and documented as having no effect in Legate (see docs/compat.md). */
  | { readonly kind: 'noop'; readonly name: string }
  /** Istio's stats filter: Istio's standard metrics (src/stats/istio/). */
  | { readonly kind: 'istio_stats'; readonly config: IstioStatsFilterModel };

/** envoy.extensions.filters.http.health_check.v3.HealthCheck. */
export interface HealthCheckFilterModel {
  readonly kind: 'health_check';
  readonly passThroughMode: boolean;
  /** All must match for a request to be a health check. */
  readonly headers: readonly HeaderMatcherModel[];
  /** 0: no caching (only meaningful in pass-through mode). */
  readonly cacheTimeMs: number;
  readonly clusterMinHealthyPercentages: ReadonlyArray<{ readonly cluster: string; readonly percent: number }>;
}

export interface HttpFilterFactory {
  /** Decodes the typed_config (may be an unresolved Any) into a filter model. */
  decode(config: ProtoObj, path: string, ctx: DecodeContext): HttpFilterModel | undefined;
}

export interface AccessLoggerFactory {
  decode(name: string, config: ProtoObj, path: string, ctx: DecodeContext): Omit<AccessLogModel, 'filter'> | undefined;
}

/** Security filters: refusing them is safer than running without them. */
export interface RejectedExtension {
  readonly reason: string;
}

class Registry<T> {
  private readonly byType = new Map<string, T>();
  private readonly rejected = new Map<string, RejectedExtension>();

  register(typeName: string, factory: T): void {
    this.byType.set(typeName, factory);
  }

  reject(typeName: string, reason: string): void {
    this.rejected.set(typeName, { reason });
  }

  get(typeName: string): T | undefined {
    return this.byType.get(typeName);
  }

  rejection(typeName: string): RejectedExtension | undefined {
    return this.rejected.get(typeName);
  }

  types(): string[] {
    return [...this.byType.keys()];
  }
}

export const httpFilters = new Registry<HttpFilterFactory>();
export const accessLoggers = new Registry<AccessLoggerFactory>();
