/**
 * Where webhooks may be sent (server-side request forgery, docs/security.md "Webhooks"). Whoever manages endpoints
 * makes this server send POSTs and keeps the first bytes of each answer in the delivery log, so an endpoint URL
 * could be used to probe the network the server sits in. Therefore:
 * - always refused: link-local addresses (169.254.0.0/16, fe80::/10: cloud metadata services such as
 *   169.254.169.254 and fd00:ec2::254 live there), unspecified, multicast and reserved ranges;
 * - refused unless WEBHOOKS_ALLOW_PRIVATE=true: loopback, RFC 1918, carrier-grade NAT and IPv6 unique
 *   local addresses (a receiver on the same private network as the server is a deliberate choice).
 * The check applies to the address actually connected to (names are resolved, then each address checked), so a
 * name that resolves to an internal address, or starts to (DNS rebinding), is refused at send time too.
 */
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['169.254.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['fe80::', 10],
  ['ff00::', 8],
  ['fd00:ec2::254', 128],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

const privateNets = new BlockList();
for (const [net, prefix] of [
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
  ['198.18.0.0', 15],
] as const)
  privateNets.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::1', 128],
  ['fc00::', 7],
] as const)
  privateNets.addSubnet(net, prefix, 'ipv6');

export interface AddressPolicy {
  allowPrivateNetworks: boolean;
}

/** Why a delivery may not go to this address, or undefined when it may. */
export function refusedAddress(address: string, policy: AddressPolicy): string | undefined {
  const family = isIP(address);
  if (family === 0) return `'${address}' is not an IP address`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (blocked.check(address, type))
    return `${address} is a link-local, unspecified, multicast or reserved address: webhooks are never sent there`;
  if (!policy.allowPrivateNetworks && privateNets.check(address, type))
    return `${address} is a loopback or private-network address: set WEBHOOKS_ALLOW_PRIVATE=true to allow receivers on private networks`;
  return undefined;
}

export const MAX_URL_LENGTH = 2048;

/**
 * An endpoint URL as stored: absolute http(s), no credentials (they would show in every listing and log), no
 * fragment; an IP literal is checked against the policy at once (a name is checked when it is resolved).
 */
export function checkEndpointUrl(raw: string, policy: AddressPolicy): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`'${raw.slice(0, 200)}' is not an absolute URL such as https://app.example.com/webhooks`);
  }
  if (raw.length > MAX_URL_LENGTH) throw new Error(`the URL is longer than ${MAX_URL_LENGTH} characters`);
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new Error(`the URL must start with https:// (or http://), not ${u.protocol}//`);
  if (u.username || u.password)
    throw new Error(
      'the URL must not hold a user name or password: receivers authenticate deliveries by the Joyn-Signature header',
    );
  if (u.hash) throw new Error('the URL must not have a #fragment');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const why = refusedAddress(host, policy);
    if (why) throw new Error(why);
  }
  return u.toString();
}
