/**
 * The fixed addresses of the demo, matching config/demo.yaml.
 */

/** Where everything listens; change config/demo.yaml together with this. */
export const DEMO = {
  host: '127.0.0.1',
  providerV1Port: 50061,
  providerV2Port: 50062,
  listenerPort: 10000,
  adminPort: 9901,
  /** Backend names the providers answer with (`hello <name> from <backend>`). */
  providerV1Name: 'provider-v1',
  providerV2Name: 'provider-v2',
} as const;

/** `host:port` of the Legate listener, the default target of demo/call. */
export const DEMO_TARGET = `${DEMO.host}:${DEMO.listenerPort}`;
