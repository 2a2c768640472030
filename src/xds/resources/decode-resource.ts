import { TYPE } from '../type-urls';
import { decodeCluster, decodeLoadAssignment } from './cluster';
import type { DecodeContext, ProtoObj } from './decode-context';
import { decodeListener } from './listener';
import { decodeRouteConfig } from './route-config';

/**
 * Decodes one normalized xDS resource of `typeUrl` into its model, collecting every
 * problem in `ctx`. The one entry point for ADS, file subscriptions and tests, so that
 * what is validated is the same whichever way a resource arrives.
 */
export function decodeXdsResource(typeUrl: string, name: string, r: ProtoObj, ctx: DecodeContext): unknown {
  switch (typeUrl) {
    case TYPE.listener: return decodeListener(r, '', ctx);
    case TYPE.cluster: return decodeCluster(r, '', ctx);
    case TYPE.routeConfig: {
      const rc = decodeRouteConfig(r, '', ctx);
      return rc.name ? rc : { ...rc, name };
    }
    case TYPE.endpoints: return decodeLoadAssignment(r, 'endpoints', ctx);
    default: return undefined;
  }
}
