/** When a volunteer lets the page compute: each setting names a reason to pause. Kept in IndexedDB. */
export interface ComputeSettings {
  /** Compute at most this fraction of the time (1 = flat out). */
  share: number;
  pauseHidden: boolean;
  pauseOnBattery: boolean;
  pauseMetered: boolean;
  /** Only between these hours (local time, 0-23; from > to spans midnight); undefined: any time. */
  hours?: { from: number; to: number };
  /** Bandwidth cap in MB (10^6 bytes) per hour; 0 for none. */
  capMb: number;
  /** Shown on the leaderboard. */
  name: string;
  /** The team its credit also counts for ('' for none). */
  team: string;
}

export const DEFAULT_SETTINGS: ComputeSettings = { share: 1, pauseHidden: false, pauseOnBattery: false, pauseMetered: false, capMb: 0, name: '', team: '' };

/** What the page knows about its circumstances now. */
export interface Circumstances {
  hidden: boolean;
  /** undefined where the Battery Status API is missing. */
  onBattery?: boolean;
  metered: boolean;
  hour: number;
}

/** Why the settings say not to compute now, in words for the page; undefined when computing is fine. */
export function pauseReason(s: ComputeSettings, c: Circumstances): string | undefined {
  if (s.pauseHidden && c.hidden) return 'this tab is hidden';
  if (s.pauseOnBattery && c.onBattery) return 'on battery';
  if (s.pauseMetered && c.metered) return 'on a metered connection';
  if (s.hours && !withinHours(c.hour, s.hours)) return `outside ${s.hours.from}:00-${s.hours.to}:00`;
  return undefined;
}

const withinHours = (hour: number, { from, to }: { from: number; to: number }) => (from <= to ? hour >= from && hour < to : hour >= from || hour < to);

type Connection = { type?: string; saveData?: boolean; addEventListener?: (t: string, f: () => void) => void };
type Battery = { charging: boolean; addEventListener(t: string, f: () => void): void };

/**
 * Watch everything a pause reason depends on (visibility, battery, connection, the clock) and call `changed`
 * whenever it may have changed; returns the circumstances now.
 */
export async function watchCircumstances(changed: () => void): Promise<() => Circumstances> {
  const nav = navigator as Navigator & { connection?: Connection; getBattery?: () => Promise<Battery> };
  const battery = await nav.getBattery?.().catch(() => undefined);
  document.addEventListener('visibilitychange', changed);
  battery?.addEventListener('chargingchange', changed);
  nav.connection?.addEventListener?.('change', changed);
  setInterval(changed, 60_000);
  return () => ({
    hidden: document.visibilityState === 'hidden',
    onBattery: battery ? !battery.charging : undefined,
    metered: nav.connection?.type === 'cellular' || nav.connection?.saveData === true,
    hour: new Date().getHours(),
  });
}
