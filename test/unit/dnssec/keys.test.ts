import { describe, expect, it } from 'vitest';
import { canonicalName, composeDs, dsDigest, dsMatchesKey, keyTag } from '../../../src/dnssec/keys.js';
import type { DnskeyValue } from '../../../src/records.js';

/** RFC 4034 §5.4: the DNSKEY of dskey.example.com (key id 60485) and the SHA-1 DS the RFC gives for it. */
const RFC_KEY: DnskeyValue = {
  flags: 256,
  protocol: 3,
  algorithm: 5,
  publicKey: 'AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==',
};
const RFC_DS = { keyTag: 60485, algorithm: 5, digestType: 1, digest: '2BB183AF5F22588179A53B0A98631FAD1A292118' };

describe('DNSKEY key tags and DS digests', () => {
  it('computes the key tag and the SHA-1 DS digest of the RFC 4034 §5.4 example', () => {
    expect(keyTag(RFC_KEY)).toBe(60485);
    expect(dsDigest('dskey.example.com', RFC_KEY, 1)).toBe(RFC_DS.digest.toLowerCase());
    // The owner name is compared in canonical form: case and a trailing dot do not matter.
    expect(dsDigest('DSKEY.Example.COM.', RFC_KEY, 1)).toBe(RFC_DS.digest.toLowerCase());
    expect(canonicalName('DSKEY.Example.COM.')).toEqual(canonicalName('dskey.example.com'));
  });

  it('matches a DS to its key by tag, algorithm, digest and the zone-key flag', () => {
    expect(dsMatchesKey('dskey.example.com', RFC_DS, RFC_KEY)).toBe(true);
    expect(dsMatchesKey('other.example.com', RFC_DS, RFC_KEY)).toBe(false);
    expect(dsMatchesKey('dskey.example.com', { ...RFC_DS, keyTag: 60486 }, RFC_KEY)).toBe(false);
    expect(dsMatchesKey('dskey.example.com', { ...RFC_DS, digest: '00'.repeat(20) }, RFC_KEY)).toBe(false);
    // A key without the zone-key flag cannot sign the zone (RFC 4034 §2.1.1), so no DS leads to it.
    const notZoneKey = { ...RFC_KEY, flags: 0 };
    expect(dsMatchesKey('dskey.example.com', { ...RFC_DS, keyTag: keyTag(notZoneKey), digest: dsDigest('dskey.example.com', notZoneKey, 1)! }, notZoneKey)).toBe(false);
    // GOST (3) is not computed here: neither a match nor a mismatch.
    expect(dsMatchesKey('dskey.example.com', { ...RFC_DS, digestType: 3 }, RFC_KEY)).toBeNull();
  });

  it('composes the SHA-256 DS to publish, which matches its key', () => {
    const text = composeDs('dskey.example.com', RFC_KEY);
    const [, , tag, algorithm, digestType, digest] = text.split(' ');
    expect(text.startsWith('dskey.example.com. DS 60485 5 2 ')).toBe(true);
    expect(dsMatchesKey('dskey.example.com', { keyTag: Number(tag), algorithm: Number(algorithm), digestType: Number(digestType), digest: digest! }, RFC_KEY)).toBe(true);
    expect(digest).toHaveLength(64);
  });
});
