import { describe, expect, it } from 'vitest';
import { addressProblem, isPublicAddress, urlProblem } from '../../src/domain/url-safety';

describe('URL safety', () => {
  const strict = { allowPrivate: false };
  const loose = { allowPrivate: true };

  it('addresses - public unicast only; private, loopback, link-local, CGNAT, reserved and their IPv4-mapped forms are not', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(isPublicAddress(address), address).toBe(true);
    for (const address of [
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not an address',
    ])
      expect(isPublicAddress(address), address).toBe(false);
  });

  it('URLs - https only, no credentials, no private IP literal (in any notation the URL parser reads)', () => {
    expect(urlProblem('https://example.com/hook', strict)).toBeUndefined();
    expect(urlProblem('https://8.8.8.8/hook', strict)).toBeUndefined();
    expect(urlProblem('http://example.com/hook', strict)).toBe('must be an https URL');
    expect(urlProblem('ftp://example.com/hook', strict)).toBe('must be an https URL');
    expect(urlProblem('https://user:pw@example.com/hook', strict)).toBe('must not carry credentials');
    expect(urlProblem('nonsense', strict)).toBe('must be a URL');
    for (const url of ['https://127.0.0.1/', 'https://[::1]/', 'https://0x7f.1/', 'https://2130706433/', 'https://[::ffff:a00:1]/'])
      expect(urlProblem(url, strict), url).toMatch(/private/);
  });

  it('allowed private - http and private addresses pass (development and tests)', () => {
    expect(urlProblem('http://127.0.0.1:8091/hooks/accept', loose)).toBeUndefined();
    expect(addressProblem(['127.0.0.1'], loose)).toBeUndefined();
    expect(urlProblem('ftp://127.0.0.1/', loose)).toBe('must be an http or https URL');
  });

  it('resolved addresses - one private address among public ones refuses the host', () => {
    expect(addressProblem(['8.8.8.8', '2606:4700:4700::1111'], strict)).toBeUndefined();
    expect(addressProblem(['8.8.8.8', '10.0.0.7'], strict)).toMatch(/10\.0\.0\.7/);
  });
});
