/**
 * Logging through winston. One logger for the daemon (debug: one line per call;
 * info: every change to a VM, with who asked), and a separate JSON-lines audit
 * logger (src/audit.ts) for changes.
 */
import winston from 'winston';

export type Logger = winston.Logger;

export interface LogOptions {
  level?: string;
  /** Write JSON lines instead of human text. */
  json?: boolean;
  /** Log file; default stderr. */
  file?: string;
  silent?: boolean;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const format = opts.json
    ? winston.format.combine(winston.format.timestamp(), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp(),
        winston.format.printf((info) => {
          const { timestamp, level, message, ...rest } = info;
          const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
          return `${timestamp} ${level} ${message}${extra}`;
        }),
      );
  const transports: winston.transport[] = opts.file
    ? [new winston.transports.File({ filename: opts.file })]
    : [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })];
  return winston.createLogger({
    level: opts.level ?? 'info',
    format,
    transports,
    silent: opts.silent ?? false,
  });
}

/** A logger that drops everything (tests, benchmarks). */
export function nullLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
