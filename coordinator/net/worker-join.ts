import { randomUUID } from 'node:crypto';
import { GridError } from '../../protocol/errors';
import type { ClientMessage, ServerMessage } from '../../protocol/messages';
import type { WorkerLink } from '../jobs/dispatcher';
import type { WorkerPort } from '../jobs/worker-port';
import type { Store } from '../store/index';

type Hello = Extract<ClientMessage, { type: 'hello' }>;

/** What joining needs of the connection: its token, whether it is a volunteer's, and its two ways out. */
export interface Joining {
  tokenId: number;
  /** The address prefix it connects from (address-prefix.ts). */
  network: string;
  /** The token has only the worker scope: quarantines apply to the whole token. */
  volunteer: boolean;
  trusted: boolean;
  isClosed(): boolean;
  send(msg: ServerMessage): void;
  close(code: number, reason: string): void;
}

/**
 * Register a connection as a worker. The id it claims is kept only if it belongs to this token and no live
 * connection holds it (every tab of one volunteer shares a stored id); otherwise it gets a fresh one. Undefined when
 * the connection closed meanwhile; throws QUARANTINED (and closes) for a quarantined worker or volunteer token.
 */
export async function joinWorker(c: Joining, msg: Hello, o: { port: WorkerPort; store: Store }): Promise<WorkerLink | undefined> {
  const claimed = msg.workerId && /^[\w-]{8,64}$/.test(msg.workerId) ? msg.workerId : undefined;
  const make = (id: string): WorkerLink => ({
    id,
    name: msg.name ?? id.slice(0, 8),
    kind: msg.capabilities.kind,
    tokenId: c.tokenId,
    trusted: c.trusted,
    network: c.network,
    samplesPerSec: msg.capabilities.engines?.[0]?.samplesPerSec,
    bytesPerHour: msg.capabilities.bytesPerHour,
    send: c.send,
    close: c.close,
  });
  let link = make(claimed ?? randomUUID());
  if (!o.port.join(link)) {
    link = make(randomUUID());
    o.port.join(link);
  }
  const row = { tokenId: c.tokenId, name: link.name, team: msg.team?.trim() || undefined, kind: link.kind, capabilities: msg.capabilities };
  try {
    let outcome = await o.store.registerWorker({ id: link.id, ...row }, c.volunteer);
    if (outcome === 'taken') {
      await o.port.leave(link); // the id is another token's
      link = make(randomUUID());
      o.port.join(link);
      outcome = await o.store.registerWorker({ id: link.id, ...row }, c.volunteer);
    }
    if (outcome === 'quarantined') throw new GridError('QUARANTINED');
  } catch (e) {
    await o.port.leave(link);
    if (e instanceof GridError && e.code === 'QUARANTINED') c.close(4003, 'QUARANTINED');
    throw e;
  }
  if (c.isClosed()) {
    await o.port.leave(link);
    return undefined;
  }
  return link;
}
