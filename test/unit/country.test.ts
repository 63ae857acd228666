import { countryAllowed, ISO_COUNTRY_CODES, isIsoCountryCode, normalizeCountryCode } from '../../src/access/country';
import { countryOf } from '../../src/infra/geoip';

describe('countryAllowed', () => {
  it.each<[string, string[], string | null, boolean]>([
    ['empty list allows a known country', [], 'US', true],
    ['empty list allows an unknown country', [], null, true],
    ['listed country passes', ['DE', 'US'], 'US', true],
    ['unlisted country is denied', ['DE', 'FR'], 'US', false],
    ['unknown country is denied when a list is set', ['US'], null, false],
    ['empty-string country counts as unknown', ['US'], '', false],
    ['lower-case lookup result still matches', ['US'], 'us', true],
  ])('%s', (_name, allowed, country, expected) => {
    expect(countryAllowed(allowed, country)).toBe(expected);
  });
});

describe('ISO 3166-1 alpha-2 codes', () => {
  it('holds the 249 assigned codes plus XK', () => {
    expect(ISO_COUNTRY_CODES.size).toBe(250);
  });

  it('every code has an English region name', () => {
    const names = new Intl.DisplayNames(['en'], { type: 'region' });
    for (const code of ISO_COUNTRY_CODES) expect(names.of(code)).not.toBe(code);
  });

  it.each<[string, boolean]>([
    ['US', true],
    ['GB', true],
    ['XK', true],
    ['SS', true],
    ['UK', false], // reserved, not assigned: the code is GB
    ['EU', false],
    ['ZZ', false],
    ['us', false],
    ['USA', false],
    ['', false],
  ])('isIsoCountryCode(%p) = %p', (code, expected) => {
    expect(isIsoCountryCode(code)).toBe(expected);
  });

  it('normalizeCountryCode trims and upper-cases valid codes only', () => {
    expect(normalizeCountryCode(' de ')).toBe('DE');
    expect(normalizeCountryCode('uk')).toBeNull();
  });
});

describe('countryOf (offline GeoLite2 data from geoip-country)', () => {
  it.each<[string, string]>([
    ['8.8.8.8', 'US'], // Google Public DNS
    ['2001:4860:4860::8888', 'US'], // Google Public DNS over IPv6
    ['::ffff:8.8.8.8', 'US'], // IPv4-mapped, as a dual-stack socket reports it
    ['::ffff:808:808', 'US'], // the same, in hex
    ['193.0.6.139', 'NL'], // RIPE NCC, Amsterdam
    ['202.12.27.33', 'JP'], // M root server (WIDE), Tokyo
    ['81.2.69.160', 'GB'], // MaxMind's own test address
  ])('%s is in %s', (ip, country) => {
    expect(countryOf(ip)).toBe(country);
  });

  it.each(['10.1.2.3', '172.16.0.1', '192.168.1.1', '127.0.0.1', '100.64.0.1', '169.254.169.254', '::1', 'fe80::1', 'fe80::1%eth0', 'fd00::1', '0.0.0.0', '::', 'not-an-ip', '010.1.2.3', ''])(
    '%p has no country',
    (ip) => {
      expect(countryOf(ip)).toBeNull();
    },
  );

  it('only ever answers codes a key can list', () => {
    for (const ip of ['8.8.8.8', '193.0.6.139', '202.12.27.33', '81.2.69.160', '2001:4860:4860::8888']) {
      expect(isIsoCountryCode(countryOf(ip)!)).toBe(true);
    }
  });
});
