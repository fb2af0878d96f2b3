import type { Frame } from '../../protocol/frames';
import type { Dispatcher, WorkerLink } from './dispatcher';
import type { ResultMeta } from './kind';
import type { TransferLedger } from './transfer';

/** All the worker transport may ask of the jobs core: one connection joins, works and leaves through it. */
export interface WorkerPort {
  /** Register a connection; false when a live connection already holds its worker id (the caller issues another). */
  join(link: WorkerLink): boolean;
  leave(link: WorkerLink): Promise<void>;
  ready(workerId: string, slots: number): void;
  release(workerId: string, assignmentId: number, reason?: string): Promise<void>;
  result(workerId: string, meta: ResultMeta, frame: Frame): Promise<void>;
  /** Bytes moved on a worker's connection; a result up or parameters down for `assignmentId` count for its job too. */
  countBytes(direction: 'up' | 'down', bytes: number, workerId?: string, assignmentId?: number): void;
}

export function workerPort(results: Pick<WorkerPort, 'result'>, dispatcher: Dispatcher, transfers: TransferLedger): WorkerPort {
  return {
    join: (link) => dispatcher.addWorker(link),
    leave: (link) => dispatcher.removeWorker(link),
    ready: (workerId, slots) => dispatcher.ready(workerId, slots),
    release: (workerId, assignmentId, reason) => dispatcher.release(workerId, assignmentId, reason),
    result: (workerId, meta, frame) => results.result(workerId, meta, frame),
    countBytes(direction, bytes, workerId, assignmentId) {
      const lease = assignmentId === undefined ? undefined : dispatcher.leases.get(assignmentId);
      transfers.add(direction, bytes, workerId, lease && lease.workerId === workerId ? lease.jobId : undefined);
    },
  };
}
