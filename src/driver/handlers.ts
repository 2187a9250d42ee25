/**
 * Binds VBoxDriver to the RPC engine: one handler per procedure, converting
 * wire shapes (UUID bytes, ints for booleans, bigints) to the driver's and
 * back. Connection-state procedures (AUTH_LIST, SUPPORTS_FEATURE, OPEN,
 * CLOSE, close callbacks, keepalive) belong to the RPC engine; CONNECT_OPEN's
 * URI check is the `open` hook below.
 */
import { HandlerTable, type CallContext, type OpenContext, type OpenResult, type RpcDriver } from '../rpc/dispatch.js';
import { Proc, REMOTE_DOMAIN_LIST_MAX, type NonnullDomain } from '../../protocol/index.js';
import { describeIdentity } from '../transport/types.js';
import { VBoxDriver, type DomainRef, type Session } from './driver.js';
import { invalidArg } from './errors.js';
import { uuidFromBytes, uuidToBytes } from './names.js';

const SESSION_KEY = 'vboxvirt.driver.session';

export function toWire(d: DomainRef): NonnullDomain {
  return { name: d.name, uuid: uuidToBytes(d.uuid), id: d.id };
}

export function fromWire(d: NonnullDomain): DomainRef {
  return { name: d.name, uuid: uuidFromBytes(d.uuid), id: d.id };
}

/**
 * The session CONNECT_OPEN stored, as is (no per-call copy): for the
 * synchronous lookups, which only read its access rules.
 */
function storedSession(ctx: CallContext): Session | undefined {
  return ctx.connState.get(SESSION_KEY) as Session | undefined;
}

const LAST_LOOKUP_KEY = 'vboxvirt.driver.lastLookup';

/** LOOKUP replies for the driver's DomainRefs (each ref is one frozen object per name and id). */
const replyOf = new WeakMap<DomainRef, { dom: NonnullDomain }>();

/**
 * The reply to a lookup of `d`, and `d` kept as the domain this connection just looked up:
 * the client's next call names it back (virsh domstate, MAAS's poll: lookup, then GetState),
 * and recognising the 16 bytes it was sent spares turning them into a UUID string again.
 */
function lookedUp(ctx: CallContext, d: DomainRef): { dom: NonnullDomain } {
  let reply = replyOf.get(d);
  if (!reply) replyOf.set(d, (reply = { dom: toWire(d) }));
  ctx.connState.set(LAST_LOOKUP_KEY, d);
  return reply;
}

function sameAsLookedUp(ctx: CallContext, w: NonnullDomain): DomainRef | undefined {
  const last = ctx.connState.get(LAST_LOOKUP_KEY) as DomainRef | undefined;
  const sent = last && replyOf.get(last)?.dom;
  if (!sent || sent.name !== w.name || sent.id !== w.id) return undefined;
  const a = sent.uuid;
  const b = w.uuid;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return undefined;
  return last;
}

/** The driver's view of the connection a call arrived on. */
export function sessionOf(ctx: CallContext): Session {
  const s = storedSession(ctx);
  // fields copied one by one: a spread of the stored session costs more than the rest of a lookup
  if (s) return { uri: s.uri, readOnly: s.readOnly || ctx.readOnly, who: s.who, identity: s.identity, access: s.access, procedure: ctx.procName };
  return {
    uri: ctx.uri ?? 'qemu:///system',
    readOnly: ctx.readOnly,
    who: describeIdentity(ctx.identity),
    identity: ctx.identity,
    procedure: ctx.procName,
  };
}

function checkMax(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw invalidArg(`${what} must be non-negative`);
  if (n > REMOTE_DOMAIN_LIST_MAX) throw invalidArg(`${what} ${n} exceeds the maximum ${REMOTE_DOMAIN_LIST_MAX}`);
  return n;
}

const b = (v: boolean): number => (v ? 1 : 0);

/** Every domain/host procedure the driver implements. */
export function domainHandlers(driver: VBoxDriver, table = new HandlerTable()): HandlerTable {
  const dom = fromWire;
  table
    // host
    .on(Proc.CONNECT_GET_TYPE, () => ({ type: driver.getType() }))
    .on(Proc.CONNECT_GET_VERSION, async () => ({ hv_ver: await driver.getVersion() }))
    .on(Proc.CONNECT_GET_LIB_VERSION, () => ({ lib_ver: driver.getLibVersion() }))
    .on(Proc.CONNECT_GET_HOSTNAME, async () => ({ hostname: await driver.getHostname() }))
    .on(Proc.CONNECT_GET_URI, (_a, ctx) => ({ uri: driver.getUri(sessionOf(ctx)) }))
    .on(Proc.CONNECT_GET_CAPABILITIES, async () => ({ capabilities: await driver.getCapabilities() }))
    .on(Proc.NODE_GET_INFO, async () => {
      const n = await driver.nodeGetInfo();
      return { model: n.model, memory: n.memory, cpus: n.cpus, mhz: n.mhz, nodes: n.nodes, sockets: n.sockets, cores: n.cores, threads: n.threads };
    })
    .on(Proc.NODE_GET_SECURITY_MODEL, () => driver.nodeGetSecurityModel())
    // lists
    .on(Proc.CONNECT_LIST_ALL_DOMAINS, async (a, ctx) => {
      const doms = await driver.listAllDomains(a.flags, sessionOf(ctx));
      return { domains: a.need_results ? doms.slice(0, REMOTE_DOMAIN_LIST_MAX).map(toWire) : [], ret: doms.length };
    })
    .on(Proc.CONNECT_NUM_OF_DOMAINS, async (_a, ctx) => ({ num: await driver.numOfDomains(sessionOf(ctx)) }))
    .on(Proc.CONNECT_LIST_DOMAINS, async (a, ctx) => ({ ids: await driver.listDomainIds(checkMax(a.maxids, 'maxids'), sessionOf(ctx)) }))
    .on(Proc.CONNECT_NUM_OF_DEFINED_DOMAINS, async (_a, ctx) => ({ num: await driver.numOfDefinedDomains(sessionOf(ctx)) }))
    .on(Proc.CONNECT_LIST_DEFINED_DOMAINS, async (a, ctx) => ({
      names: await driver.listDefinedDomains(checkMax(a.maxnames, 'maxnames'), sessionOf(ctx)),
    }))
    // lookups
    // lookup and state answer synchronously when the driver's view is current (no promise, no microtask)
    .on(Proc.DOMAIN_LOOKUP_BY_NAME, (a, ctx) => {
      const d = driver.lookupByNameNow(a.name, storedSession(ctx));
      return d ? lookedUp(ctx, d) : driver.lookupByName(a.name, sessionOf(ctx)).then((r) => lookedUp(ctx, r));
    })
    .on(Proc.DOMAIN_LOOKUP_BY_ID, async (a, ctx) => ({ dom: toWire(await driver.lookupById(a.id, sessionOf(ctx))) }))
    .on(Proc.DOMAIN_LOOKUP_BY_UUID, async (a, ctx) => ({ dom: toWire(await driver.lookupByUuid(uuidFromBytes(a.uuid), sessionOf(ctx))) }))
    // queries
    .on(Proc.DOMAIN_GET_STATE, (a, ctx) => {
      const d = sameAsLookedUp(ctx, a.dom) ?? dom(a.dom);
      return driver.getStateNow(d, a.flags, storedSession(ctx)) ?? driver.getState(d, a.flags, sessionOf(ctx));
    })
    .on(Proc.DOMAIN_GET_INFO, async (a, ctx) => driver.getInfo(dom(a.dom), sessionOf(ctx)))
    .on(Proc.DOMAIN_GET_OS_TYPE, async (a, ctx) => ({ type: await driver.getOsType(dom(a.dom), sessionOf(ctx)) }))
    .on(Proc.DOMAIN_IS_ACTIVE, async (a, ctx) => ({ active: b(await driver.isActive(dom(a.dom), sessionOf(ctx))) }))
    .on(Proc.DOMAIN_IS_PERSISTENT, async (a, ctx) => ({ persistent: b(await driver.isPersistent(dom(a.dom), sessionOf(ctx))) }))
    .on(Proc.DOMAIN_IS_UPDATED, async (a, ctx) => ({ updated: b(await driver.isUpdated(dom(a.dom), sessionOf(ctx))) }))
    .on(Proc.DOMAIN_HAS_MANAGED_SAVE_IMAGE, async (a, ctx) => ({
      result: b(await driver.hasManagedSaveImage(dom(a.dom), a.flags, sessionOf(ctx))),
    }))
    .on(Proc.DOMAIN_GET_AUTOSTART, async (a, ctx) => ({ autostart: b(await driver.getAutostart(dom(a.dom), sessionOf(ctx))) }))
    .on(Proc.DOMAIN_GET_SECURITY_LABEL, async (a, ctx) => driver.getSecurityLabel(dom(a.dom), sessionOf(ctx)))
    .on(Proc.DOMAIN_GET_MESSAGES, async (a, ctx) => ({ msgs: await driver.getMessages(dom(a.dom), a.flags, sessionOf(ctx)) }))
    .on(Proc.DOMAIN_SNAPSHOT_NUM, async (a, ctx) => ({ num: await driver.snapshotNum(dom(a.dom), a.flags, sessionOf(ctx)) }))
    .on(Proc.DOMAIN_GET_XML_DESC, async (a, ctx) => ({ xml: await driver.getXmlDesc(dom(a.dom), a.flags, sessionOf(ctx)) }))
    // lifecycle
    .on(Proc.DOMAIN_CREATE, async (a, ctx) => {
      await driver.create(sessionOf(ctx), dom(a.dom), 0);
    })
    .on(Proc.DOMAIN_CREATE_WITH_FLAGS, async (a, ctx) => ({
      dom: toWire(await driver.create(sessionOf(ctx), dom(a.dom), a.flags)),
    }))
    .on(Proc.DOMAIN_DESTROY, (a, ctx) => driver.destroy(sessionOf(ctx), dom(a.dom), 0))
    .on(Proc.DOMAIN_DESTROY_FLAGS, (a, ctx) => driver.destroy(sessionOf(ctx), dom(a.dom), a.flags))
    .on(Proc.DOMAIN_SHUTDOWN, (a, ctx) => driver.shutdown(sessionOf(ctx), dom(a.dom), 0))
    .on(Proc.DOMAIN_SHUTDOWN_FLAGS, (a, ctx) => driver.shutdown(sessionOf(ctx), dom(a.dom), a.flags))
    .on(Proc.DOMAIN_REBOOT, (a, ctx) => driver.reboot(sessionOf(ctx), dom(a.dom), a.flags))
    .on(Proc.DOMAIN_RESET, (a, ctx) => driver.reset(sessionOf(ctx), dom(a.dom), a.flags))
    .on(Proc.DOMAIN_SUSPEND, (a, ctx) => driver.suspend(sessionOf(ctx), dom(a.dom)))
    .on(Proc.DOMAIN_RESUME, (a, ctx) => driver.resume(sessionOf(ctx), dom(a.dom)))
    .on(Proc.DOMAIN_MANAGED_SAVE, (a, ctx) => driver.managedSave(sessionOf(ctx), dom(a.dom), a.flags))
    .on(Proc.DOMAIN_MANAGED_SAVE_REMOVE, (a, ctx) => driver.managedSaveRemove(sessionOf(ctx), dom(a.dom), a.flags))
    .on(Proc.DOMAIN_SET_AUTOSTART, (a, ctx) => driver.setAutostart(sessionOf(ctx), dom(a.dom), a.autostart !== 0));
  return table;
}

/**
 * The RpcDriver the engine gets: handlers, plus CONNECT_OPEN's URI check that
 * stores the driver session in the connection's scratch space.
 */
export function rpcDriver(driver: VBoxDriver, table = domainHandlers(driver)): RpcDriver {
  return {
    handlers: table,
    open(name: string | null, flags: number, ctx: OpenContext): OpenResult {
      const s = driver.open(name, flags, ctx.identity);
      const session: Session = { ...s, readOnly: s.readOnly || ctx.readOnly };
      ctx.connState.set(SESSION_KEY, session);
      return { uri: session.uri };
    },
    close(ctx: OpenContext): void {
      ctx.connState.delete(SESSION_KEY);
    },
  };
}
