/**
 * Audit log: one JSON line per change to a VM, in its own file
 * (`--audit-log FILE`), written through winston.
 *
 *   const audit = createAuditLog('/var/log/vboxvirt/audit.log');
 *   audit.record({ identity, procedure: 'DOMAIN_CREATE', vm: { name, uuid }, result: 'ok' });
 *   audit.record({ identity, procedure: 'DOMAIN_DESTROY', vm, result: { code: 55, message: 'Requested operation is not valid: domain is not running' } });
 *
 * Each line: {"time","who","user","address","transport","authMethod","fingerprint","procedure","vm":{"name","uuid"},"result":"ok"|"error","error":{"code","message"}}.
 */
import winston from 'winston';
import type { Identity } from './transport/types.js';
import { describeIdentity } from './transport/types.js';

export interface AuditEntry {
  identity: Identity;
  /** Procedure name (`DOMAIN_CREATE`) or a number. */
  procedure: string | number;
  vm?: { name: string; uuid: string };
  result: 'ok' | { code: number | string; message: string };
  /** Extra details (e.g. the changed fields), kept small. */
  details?: Record<string, unknown>;
  /** Override the time (tests); default now. */
  time?: Date;
}

export interface AuditLog {
  record(entry: AuditEntry): void;
  /** Flush and close the file. */
  close(): Promise<void>;
}

/** The JSON object written for an entry (exported for tests and other sinks). */
export function auditLine(e: AuditEntry): Record<string, unknown> {
  const id = e.identity;
  const line: Record<string, unknown> = {
    time: (e.time ?? new Date()).toISOString(),
    who: describeIdentity(id),
    transport: id.transport,
    address: id.address,
  };
  if (id.user !== undefined) line.user = id.user;
  if (id.authMethod !== undefined) line.authMethod = id.authMethod;
  if (id.fingerprint !== undefined) line.fingerprint = id.fingerprint;
  line.procedure = e.procedure;
  if (e.vm) line.vm = { name: e.vm.name, uuid: e.vm.uuid };
  if (e.result === 'ok') line.result = 'ok';
  else {
    line.result = 'error';
    line.error = { code: e.result.code, message: e.result.message };
  }
  if (e.details) line.details = e.details;
  return line;
}

/** `file` undefined → a log that drops everything (auditing disabled). */
export function createAuditLog(file: string | undefined): AuditLog {
  if (!file) return { record: () => {}, close: async () => {} };
  const transport = new winston.transports.File({ filename: file, options: { flags: 'a', mode: 0o600 } });
  const logger = winston.createLogger({
    level: 'info',
    // The entry is the whole line: no level/message/timestamp added by winston.
    format: winston.format.printf((info) => JSON.stringify((info as unknown as { entry: unknown }).entry)),
    transports: [transport],
  });
  return {
    record(entry: AuditEntry) {
      try {
        logger.info('audit', { entry: auditLine(entry) });
      } catch {
        /* never let auditing break a call */
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        // The file transport finishes after the logger: wait for the transport.
        transport.once('finish', () => resolve());
        logger.end();
      }),
  };
}
