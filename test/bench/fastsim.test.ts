/**
 * bench/fastsim: the compiled VBoxManage stand-in the benchmark's C systems use (it starts in
 * ~1 ms and hands its argv to one long-lived simulator process) must answer exactly what
 * `node bin/vboxsim.js` answers — stdout, stderr and exit status — for the same command on
 * the same simulated host, hostile arguments included, and run commands concurrently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFastSimClient } from '../../bench/servers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir: string;
let home: string;
let exe: string;
let server: ChildProcess;

interface Out {
  stdout: string;
  stderr: string;
  status: number | null;
}

const env = () => ({ ...process.env, VBOX_USER_HOME: home });
const slow = (args: string[]): Out => {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'vboxsim.js'), ...args], { env: env(), encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
};
const fast = (args: string[]): Promise<Out> =>
  new Promise((resolve) => {
    const c = spawn(exe, args, { env: env() });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b) => (stdout += String(b)));
    c.stderr.on('data', (b) => (stderr += String(b)));
    c.on('close', (status) => resolve({ stdout, stderr, status }));
  });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vbfs-'));
  home = path.join(dir, 'home');
  const sock = path.join(dir, 's.sock');
  const built = buildFastSimClient(root, path.join(dir, 'bin'), sock);
  if ('error' in built) throw new Error(built.error);
  exe = built.exe;
  server = spawn(process.execPath, [path.join(root, 'bench', 'fastsim', 'server.mjs'), '--entry', path.join(root, 'dist', 'src', 'sim', 'index.js'), '--home', home, '--socket', sock], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (b) => String(b).includes('ready') && resolve());
    server.once('exit', (code) => reject(new Error(`fastsim server exited ${code}`)));
  });
}, 60_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const done = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await done;
  }
  rmSync(dir, { recursive: true, force: true });
});

const HOSTILE = ["it's a \"vm\" $(touch /tmp/pwned) ; rm -rf / `id`", 'line1\nline2', 'ünïcødé 名前 🚀', '-- --name', ' spaced  out '];

describe('fastsim client + server', () => {
  it('creates VMs with hostile names and lists them exactly as node bin/vboxsim.js does', async () => {
    for (const name of HOSTILE) {
      const r = await fast(['createvm', '--name', name, '--register']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Virtual machine '${name}' is created and registered.`);
    }
    const viaFast = await fast(['list', 'vms']);
    expect(viaFast).toEqual(slow(['list', 'vms']));
    for (const name of HOSTILE) expect(viaFast.stdout).toContain(`"${name}"`);
    const info = await fast(['showvminfo', HOSTILE[0]!, '--machinereadable']);
    expect(info.status).toBe(0);
    expect(info).toEqual(slow(['showvminfo', HOSTILE[0]!, '--machinereadable']));
  });

  it('passes errors through: stderr and exit status as VBoxManage prints them', async () => {
    for (const args of [['showvminfo', 'no such vm'], ['frobnicate'], ['startvm']]) {
      const f = await fast(args);
      const s = slow(args);
      expect(f.status).toBe(s.status);
      expect(f.status).not.toBe(0);
      expect(f.stderr).toBe(s.stderr);
      expect(f.stdout).toBe(s.stdout);
    }
  });

  it('runs commands concurrently (20 at once, each answered)', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, () => fast(['list', 'vms'])));
    for (const r of rs) expect(r.status).toBe(0);
    expect(new Set(rs.map((r) => r.stdout)).size).toBe(1);
  });
});
