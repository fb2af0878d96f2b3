import { configFromEnv } from './config';
import { startCoordinator } from './server';

// `npm start`: the coordinator with the embedded SQLite store unless DATABASE_URL names MariaDB/MySQL.
const coordinator = await startCoordinator(configFromEnv()).catch((e) => {
  console.error(JSON.stringify({ level: 'error', msg: 'coordinator failed to start', err: String(e?.stack ?? e) }));
  process.exit(1);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    void coordinator.close().finally(() => process.exit(0));
  });
