//! The client's address, for rate limits and login throttling.
//!
//! `X-Forwarded-For` is anyone's to write, so it is read only when the connection comes from
//! a proxy the operator named (`TRUSTED_PROXIES`), and then from the right: each trusted proxy
//! appends the address it saw, so the rightmost entry that is not one of ours is the client
//! as our outermost proxy saw it. Entries further left were written by the client itself.
use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma- or space-separated list of addresses and networks
    /// (`10.0.0.0/8, 192.0.2.7, ::1`).
    ///
    /// # Errors
    /// The entry that is neither an address nor a network.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split([',', ' '])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("TRUSTED_PROXIES: `{e}` is not an IP address or network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For` values in order.
    #[must_use]
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .iter()
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // Garbage (or a port or an obfuscated name) stops the walk: what is left of
                // it was written by someone we do not trust.
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// IPv4 addresses arrive as `::ffff:a.b.c.d` on dual-stack sockets.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::TrustedProxies;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::parse("").unwrap();
        assert_eq!(
            none.client(ip("203.0.113.9"), &["198.51.100.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_proxy_hands_on_the_client_it_saw() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7").unwrap();
        assert_eq!(
            t.client(ip("10.1.2.3"), &["198.51.100.1"]),
            ip("198.51.100.1")
        );
        // Two of our proxies in a row.
        assert_eq!(
            t.client(ip("192.0.2.7"), &["198.51.100.1, 10.9.9.9"]),
            ip("198.51.100.1")
        );
        // Split over two header lines.
        assert_eq!(
            t.client(ip("192.0.2.7"), &["198.51.100.1", "10.9.9.9"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            t.client(ip("::ffff:10.0.0.1"), &["198.51.100.1"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn what_the_client_wrote_itself_is_not_believed() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client sent "X-Forwarded-For: 1.2.3.4"; our proxy appended the real address.
        assert_eq!(
            t.client(ip("10.0.0.1"), &["1.2.3.4, 198.51.100.1"]),
            ip("198.51.100.1")
        );
        // An untrusted peer's header is ignored entirely.
        assert_eq!(
            t.client(ip("198.51.100.1"), &["1.2.3.4"]),
            ip("198.51.100.1")
        );
        // Garbage stops the walk at the last good hop.
        assert_eq!(t.client(ip("10.0.0.1"), &["1.2.3.4, junk"]), ip("10.0.0.1"));
        // No header: the proxy itself.
        assert_eq!(t.client(ip("10.0.0.1"), &[]), ip("10.0.0.1"));
    }

    #[test]
    fn a_bad_list_is_refused_with_the_entry() {
        let e = TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err();
        assert!(e.contains("proxy.local"), "{e}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("::1 fd00::/8").is_ok());
    }
}
