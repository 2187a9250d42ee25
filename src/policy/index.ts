/**
 * Per-identity access policy: which VMs a connection may see and which it
 * may change. Pure functions over a parsed JSON document (format in
 * docs/security.md); no I/O except `loadPolicyFile`.
 *
 *   const access = policy.forIdentity(identity);
 *   access.canSee({ uuid, name, groups })     // false → the VM does not exist for this client
 *   access.canChange({ uuid, name, groups })  // false → refuse the change (VIR_ERR_OPERATION_DENIED)
 *
 * Without a policy file everything is allowed: every listener is either
 * authenticated (ssh, tls), local (unix socket permissions, stdio) or
 * explicitly enabled by the operator without authentication (tcp).
 * A read-only transport (`virt-ssh-helper -r`, `…-sock-ro`) never changes anything.
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import type { Identity, TransportKind } from '../transport/types.js';

export interface VmRef {
  uuid: string;
  name: string;
  /** VirtualBox groups (`/`, `/maas`, `/maas/rack1`). */
  groups?: string[];
}

export interface VmAccess {
  canSee(vm: VmRef): boolean;
  canChange(vm: VmRef): boolean;
  /** Which rule decided (`rules[2]` or its name, or `default`), for logs. */
  readonly rule: string;
  /** true when this identity may see every VM (lets list calls skip filtering). */
  readonly seesAll: boolean;
  /** true when the decision depends on VirtualBox groups (the caller must pass `groups`). */
  readonly needsGroups: boolean;
}

export interface Policy {
  forIdentity(identity: Identity): VmAccess;
}

export class PolicyError extends Error {
  readonly code = 'ERR_POLICY';
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

type Selector = (vm: VmRef) => boolean;
interface Compiled {
  label: string;
  match: (id: Identity) => boolean;
  see: Selector;
  seesAll: boolean;
  change: Selector;
  needsGroups: boolean;
}

const TRANSPORTS: TransportKind[] = ['tcp', 'tls', 'ssh', 'unix', 'stdio'];

function globRe(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's');
}

function strings(v: unknown, where: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new PolicyError(`${where}: expected a string or a list of strings`);
}

function hostOf(address: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(address);
  if (m) return m[1]!;
  const i = address.lastIndexOf(':');
  return i > 0 && address.indexOf(':') === i ? address.slice(0, i) : address;
}

function compileAddress(list: string[], where: string): (id: Identity) => boolean {
  const block = new BlockList();
  let local = false;
  for (const a of list) {
    if (a === 'local') {
      local = true;
      continue;
    }
    const [ip, bits] = a.split('/');
    const fam = isIP(ip ?? '');
    if (!fam) throw new PolicyError(`${where}: ${JSON.stringify(a)} is not an address, CIDR or "local"`);
    const type = fam === 6 ? 'ipv6' : 'ipv4';
    const max = fam === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new PolicyError(`${where}: bad prefix length in ${JSON.stringify(a)}`);
    block.addSubnet(ip!, prefix, type);
  }
  return (id) => {
    if (id.address === 'local') return local;
    let h = hostOf(id.address);
    if (h.startsWith('::ffff:') && isIP(h.slice(7)) === 4) h = h.slice(7);
    const fam = isIP(h);
    if (!fam) return false;
    return block.check(h, fam === 6 ? 'ipv6' : 'ipv4');
  };
}

function compileMatch(m: unknown, where: string): (id: Identity) => boolean {
  if (m === undefined) return () => true;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new PolicyError(`${where}: expected an object`);
  const checks: Array<(id: Identity) => boolean> = [];
  for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
    const w = `${where}.${k}`;
    switch (k) {
      case 'transport': {
        const ts = strings(v, w);
        for (const t of ts) if (!TRANSPORTS.includes(t as TransportKind)) throw new PolicyError(`${w}: unknown transport ${JSON.stringify(t)}`);
        checks.push((id) => ts.includes(id.transport));
        break;
      }
      case 'user': {
        const res = strings(v, w).map(globRe);
        checks.push((id) => id.user !== undefined && res.some((r) => r.test(id.user!)));
        break;
      }
      case 'cert': {
        const res = strings(v, w).map(globRe);
        checks.push((id) => id.transport === 'tls' && id.user !== undefined && res.some((r) => r.test(id.user!)));
        break;
      }
      case 'fingerprint': {
        const fps = strings(v, w);
        checks.push((id) => id.fingerprint !== undefined && fps.includes(id.fingerprint));
        break;
      }
      case 'address':
        checks.push(compileAddress(strings(v, w), w));
        break;
      case 'authMethod': {
        const ms = strings(v, w);
        checks.push((id) => ms.includes(id.authMethod ?? 'none'));
        break;
      }
      case 'readOnly':
        if (typeof v !== 'boolean') throw new PolicyError(`${w}: expected true or false`);
        checks.push((id) => (id.readOnlyTransport ?? false) === v);
        break;
      default:
        throw new PolicyError(`${w}: unknown match key (transport, user, cert, fingerprint, address, authMethod, readOnly)`);
    }
  }
  return (id) => checks.every((c) => c(id));
}

function compileSelectors(v: unknown, where: string): { sel: Selector; all: boolean; groups: boolean } {
  if (v === true || v === '*') return { sel: () => true, all: true, groups: false };
  if (v === false) return { sel: () => false, all: false, groups: false };
  const list = strings(v, where);
  if (list.includes('*')) return { sel: () => true, all: true, groups: false };
  const sels: Selector[] = list.map((s) => {
    const i = s.indexOf(':');
    const kind = i > 0 ? s.slice(0, i) : 'name';
    const arg = i > 0 ? s.slice(i + 1) : s;
    switch (kind) {
      case 'name': {
        const re = globRe(arg);
        return (vm) => re.test(vm.name);
      }
      case 'uuid': {
        const u = arg.toLowerCase();
        if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(u)) throw new PolicyError(`${where}: bad UUID ${JSON.stringify(arg)}`);
        return (vm) => vm.uuid.toLowerCase() === u;
      }
      case 'group': {
        if (!arg.startsWith('/')) throw new PolicyError(`${where}: a group starts with "/" (${JSON.stringify(arg)})`);
        const g = arg === '/' ? '/' : arg.replace(/\/+$/, '');
        return (vm) => (vm.groups && vm.groups.length ? vm.groups : ['/']).some((vg) => g === '/' || vg === g || vg.startsWith(`${g}/`));
      }
      default:
        throw new PolicyError(`${where}: unknown selector ${JSON.stringify(s)} (use name:GLOB, group:/PATH, uuid:UUID or *)`);
    }
  });
  return { sel: (vm) => sels.some((f) => f(vm)), all: false, groups: list.some((x) => x.startsWith('group:')) };
}

function access(c: Pick<Compiled, 'label' | 'see' | 'seesAll' | 'change' | 'needsGroups'>, id: Identity): VmAccess {
  const ro = id.readOnlyTransport === true;
  return {
    rule: c.label,
    seesAll: c.seesAll,
    needsGroups: c.needsGroups,
    canSee: (vm) => c.see(vm),
    canChange: (vm) => !ro && c.see(vm) && c.change(vm),
  };
}

const DEFAULTS: Record<string, Pick<Compiled, 'see' | 'seesAll' | 'change' | 'needsGroups'>> = {
  allow: { see: () => true, seesAll: true, change: () => true, needsGroups: false },
  'read-only': { see: () => true, seesAll: true, change: () => false, needsGroups: false },
  deny: { see: () => false, seesAll: false, change: () => false, needsGroups: false },
};

/** Compile a policy document (already JSON-parsed). Throws PolicyError with the offending path. */
export function parsePolicy(doc: unknown): Policy {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new PolicyError('policy: expected a JSON object');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!['default', 'rules', 'comment'].includes(k)) throw new PolicyError(`policy: unknown key ${JSON.stringify(k)}`);
  const defName = d.default ?? 'allow';
  if (typeof defName !== 'string' || !(defName in DEFAULTS)) throw new PolicyError('policy.default: expected "allow", "read-only" or "deny"');
  const def = { label: 'default', ...DEFAULTS[defName]! };
  const rulesIn = d.rules ?? [];
  if (!Array.isArray(rulesIn)) throw new PolicyError('policy.rules: expected a list');
  const rules: Compiled[] = rulesIn.map((r: unknown, i) => {
    const where = `rules[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new PolicyError(`${where}: expected an object`);
    const rr = r as Record<string, unknown>;
    for (const k of Object.keys(rr)) if (!['name', 'match', 'see', 'change', 'comment'].includes(k)) throw new PolicyError(`${where}: unknown key ${JSON.stringify(k)}`);
    const see = compileSelectors(rr.see ?? '*', `${where}.see`);
    const change = rr.change === undefined ? see : compileSelectors(rr.change, `${where}.change`);
    return {
      label: typeof rr.name === 'string' ? rr.name : where,
      match: compileMatch(rr.match, `${where}.match`),
      see: see.sel,
      seesAll: see.all,
      change: change.sel,
      needsGroups: see.groups || change.groups,
    };
  });
  return {
    forIdentity(id: Identity): VmAccess {
      const rule = rules.find((r) => r.match(id)) ?? def;
      return access(rule, id);
    },
  };
}

/** Everything allowed (read-only transports still cannot change anything). */
export const allowAll: Policy = parsePolicy({});

export function loadPolicyFile(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyError(`cannot read policy file ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PolicyError(`policy file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  try {
    return parsePolicy(doc);
  } catch (e) {
    throw new PolicyError(`${file}: ${(e as Error).message}`);
  }
}

/**
 * Keep the VMs `access` may see, in order. `groupsOf(uuid)` is called only
 * when the decision depends on groups and the entry has none (e.g. a
 * VmSummary: pass `uuid => host.getVm(uuid).then(i => i.groups)`).
 */
export async function filterVisible<T extends VmRef>(
  access: VmAccess,
  vms: readonly T[],
  groupsOf?: (uuid: string) => Promise<string[]>,
): Promise<T[]> {
  if (access.seesAll) return [...vms];
  const out: T[] = [];
  for (const vm of vms) {
    let ref: VmRef = vm;
    if (access.needsGroups && vm.groups === undefined && groupsOf) {
      try {
        ref = { uuid: vm.uuid, name: vm.name, groups: await groupsOf(vm.uuid) };
      } catch {
        continue; // gone meanwhile: not visible
      }
    }
    if (access.canSee(ref)) out.push(vm);
  }
  return out;
}
