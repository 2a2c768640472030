/** Hands the logging flags to the logger, so `main.ts` wires logging in one call. */
import { configureLogging, logger } from '../common/logger';
import type { CommandLineOptions } from './types';

const log = logger('main', __filename);

/**
 * Applies `-l`, `--component-log-level`, `--log-format`, `--log-format-escaped` and `--log-path`,
 * then logs each parse notice once on the `main` logger at `info`, as Envoy logs its own
 * command-line remarks at startup.
 */
export function applyLoggingOptions(options: CommandLineOptions, notices: readonly string[] = []): void {
  configureLogging({
    level: options.logLevel,
    componentLevels: options.componentLogLevels,
    format: options.logFormat,
    escaped: options.logFormatEscaped,
    // Without --log-path the current sink (stderr unless a test installed one) stays.
    ...(options.logPath !== '' ? { path: options.logPath } : {}),
  });
  for (const notice of notices) log.info(notice);
}
