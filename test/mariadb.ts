import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';

export interface MariaDb {
  url: string;
  stop(): void;
  /** Kill the server, keep it down for `downMs`, start it again on the same data and port; resolves when it answers. */
  restart(downMs: number): Promise<void>;
}

/** Start a throwaway MariaDB (as root, no systemd) on a free port; the binaries come from .ci/run's apt install. */
export async function startMariaDb(port = 3400 + Math.floor(Math.random() * 500)): Promise<MariaDb> {
  for (const bin of ['mariadbd', 'mariadb-install-db'])
    if (!findBin(bin)) throw new Error(`${bin} not found: run .ci/run (apt-get install mariadb-server-core mariadb-client-core)`);
  const base = mkdtempSync(join(tmpdir(), 'grid-mariadb-'));
  execFileSync(
    findBin('mariadb-install-db') as string,
    ['--no-defaults', `--datadir=${base}/data`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'],
    {
      stdio: 'ignore',
    },
  );
  const args = [
    '--no-defaults',
    `--datadir=${base}/data`,
    `--socket=${base}/mysqld.sock`,
    `--pid-file=${base}/mysqld.pid`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--user=root',
    '--skip-log-bin',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    '--innodb-buffer-pool-size=64M',
    '--innodb-flush-log-at-trx-commit=2',
  ];
  let server: ChildProcess = spawn(findBin('mariadbd') as string, args, { stdio: 'ignore' });
  const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null ? r() : p.once('exit', () => r())));
  const ready = async () => {
    for (let i = 0; i < 300; i++) {
      try {
        const c = await createConnection({ host: '127.0.0.1', port, user: 'root' });
        await c.query('CREATE DATABASE IF NOT EXISTS grid_test');
        await c.end();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('MariaDB did not start within 30 s');
  };
  const stop = () => {
    server.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  };
  try {
    await ready();
  } catch (e) {
    stop();
    throw e;
  }
  return {
    url: `mysql://root@127.0.0.1:${port}/grid_test`,
    stop,
    async restart(downMs: number) {
      const old = server;
      old.kill('SIGKILL');
      await exited(old);
      await new Promise((r) => setTimeout(r, downMs));
      server = spawn(findBin('mariadbd') as string, args, { stdio: 'ignore' });
      await ready();
    },
  };
}

function findBin(name: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin']) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}
