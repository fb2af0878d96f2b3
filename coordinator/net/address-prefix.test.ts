import { describe, expect, it } from 'vitest';
import { addressPrefix } from './address-prefix';

describe('addressPrefix', () => {
  it('gives the /24 of IPv4, plain or IPv4-mapped in either spelling uWS and Node use', () => {
    expect(addressPrefix('203.0.113.77')).toBe('203.0.113.0/24');
    expect(addressPrefix('::ffff:203.0.113.77')).toBe('203.0.113.0/24');
    expect(addressPrefix('0000:0000:0000:0000:0000:ffff:cb00:714d')).toBe('203.0.113.0/24');
  });
  it('gives the /64 of IPv6, however it is spelled', () => {
    expect(addressPrefix('2001:db8:85a3:1234:abcd::1')).toBe('2001:db8:85a3:1234::/64');
    expect(addressPrefix('2001:0db8:85a3:1234:ffff:0000:0000:0002')).toBe('2001:db8:85a3:1234::/64');
    expect(addressPrefix('2001:db8::7')).toBe('2001:db8:0:0::/64');
    expect(addressPrefix('::1')).toBe('0:0:0:0::/64');
  });
  it('keeps anything that is not an address as it is (its own key)', () => expect(addressPrefix('unknown')).toBe('unknown'));
});
