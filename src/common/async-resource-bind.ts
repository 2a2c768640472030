/**
 * A cheaper `AsyncResource.prototype.bind` for Node versions whose bind still
 * attaches the deprecated `asyncResource` property (DEP0172).
 *
 * Why: on those versions every bind() defines that property as a getter/setter
 * pair wrapped in `util.deprecate()`, and each deprecate() call builds a closure
 * and calls `Object.setPrototypeOf` on it, which is slow. node:http2's
 * `ClientHttp2Session#request()` binds its pending-request callback to an
 * AsyncResource on every stream, so each upstream stream paid for two
 * deprecate() calls: about 5 % of Legate's CPU under load, in `deprecate` and
 * `bind` self time (profile in bench/RESULTS.md).
 *
 * The replacement keeps bind's behaviour (the function runs in the resource's
 * async scope, with the caller's `this` unless `thisArg` is given, and has fn's
 * length); it only leaves out the deprecated property, as Node does once
 * DEP0172 reaches end of life (nodejs/node#58618). Installed once at start;
 * does nothing where bind no longer adds the property.
 */
import { AsyncResource } from 'node:async_hooks';

type AnyFunction = (...args: unknown[]) => unknown;

let installed = false;

/** Whether this Node's bind() still adds the deprecated `asyncResource` property. */
export function bindAddsDeprecatedProperty(): boolean {
  const bound = new AsyncResource('LegateProbe').bind(() => undefined);
  return Object.prototype.hasOwnProperty.call(bound, 'asyncResource');
}

/** Replace AsyncResource.prototype.bind (once) when the running Node needs it; returns whether it did. */
export function installFastAsyncResourceBind(): boolean {
  if (installed) return true;
  if (!bindAddsDeprecatedProperty()) return false;
  const original = AsyncResource.prototype.bind;
  AsyncResource.prototype.bind = function bind<Func extends AnyFunction>(this: AsyncResource, fn: Func, thisArg?: unknown): Func {
    // Let Node's own bind validate (and throw its usual ERR_INVALID_ARG_TYPE).
    if (typeof fn !== 'function') return (original as (this: AsyncResource, f: unknown, t?: unknown) => Func).call(this, fn, thisArg);
    const resource = this;
    const bound =
      thisArg === undefined
        ? function (this: unknown, ...args: unknown[]): unknown {
            return resource.runInAsyncScope(fn, this, ...args);
          }
        : resource.runInAsyncScope.bind(resource, fn, thisArg);
    Object.defineProperty(bound, 'length', { configurable: true, enumerable: false, writable: false, value: fn.length });
    return bound as Func;
  } as typeof AsyncResource.prototype.bind;
  installed = true;
  return true;
}
