import type { HttpFilterFactory } from '../registry';

/**
 * Istio before 1.18/1.19 configured its metadata exchange and stats as "Wasm" filters with the
 * null VM (`vm_config.runtime: envoy.wasm.runtime.null`): C++ plugins built into istio-proxy,
 * named by `code.local.inline_string`, not Wasm modules. Those two only observe (peer labels for
 * telemetry, metrics), so they are accepted as no-ops like their newer native forms. Any other
 * Wasm filter is refused: what a module does cannot be assumed away.
 */
const HARMLESS_NULL_VM_PLUGINS = new Set(['envoy.wasm.metadata_exchange', 'envoy.wasm.stats']);

export const wasmFilter: HttpFilterFactory = {
  decode(config, path, ctx) {
    const vm = config.config?.vm_config ?? {};
    const plugin = String(vm.code?.local?.inline_string ?? '');
    if (vm.runtime === 'envoy.wasm.runtime.null' && HARMLESS_NULL_VM_PLUGINS.has(plugin)) return { kind: 'noop', name: plugin };
    ctx.error(path, `HTTP filter (envoy.extensions.filters.http.wasm.v3.Wasm${plugin ? `, ${plugin}` : ''}) is a Wasm extension; Legate cannot run Wasm, and what it would do (often authn or policy) cannot be assumed away`);
    return undefined;
  },
};
