/** Messages a connection may send per second on average, with this burst; an accepted result gives its two back. */
export const MESSAGES_PER_S = 50;
const MESSAGE_BURST = 200;

/** A connection's message budget: a token bucket and when it was last charged. */
export interface MessageBudget {
  budget: number;
  budgetAt: number;
}

export const fullBudget = (): MessageBudget => ({ budget: MESSAGE_BURST, budgetAt: performance.now() });

/** Charge one message to the connection's budget; false when it is spent. */
export function withinRate(c: MessageBudget): boolean {
  const now = performance.now();
  c.budget = Math.min(MESSAGE_BURST, c.budget + ((now - c.budgetAt) / 1000) * MESSAGES_PER_S) - 1;
  c.budgetAt = now;
  return c.budget >= 0;
}

/** Accepted work is not charged: only floods and refusals spend the budget. */
export function refund(c: MessageBudget) {
  c.budget = Math.min(MESSAGE_BURST, c.budget + 2);
}

/** Open sockets by token: a revoked token's sockets close at once, and no token holds more than its share. */
export class SocketsByToken<S> {
  private readonly byToken = new Map<number, Set<S>>();

  /** Add a socket; returns how many the token holds now. */
  add(tokenId: number, socket: S): number {
    const mine = this.byToken.get(tokenId) ?? new Set();
    this.byToken.set(tokenId, mine.add(socket));
    return mine.size;
  }

  remove(tokenId: number, socket: S) {
    const mine = this.byToken.get(tokenId);
    mine?.delete(socket);
    if (mine?.size === 0) this.byToken.delete(tokenId);
  }

  of(tokenId: number): Iterable<S> {
    return this.byToken.get(tokenId) ?? [];
  }
}
