//! Address pools: pod addresses over the node's pod CIDR, and load-balancer addresses. The
//! first host address of a pool is reserved (the pods' gateway on the bridge); the others are
//! handed out in turn, as CNI's host-local IPAM does: the next free one after the last handed
//! out, wrapping around. A released address is thus reused as late as possible, so traffic
//! still addressed to a deleted pod (a peer's stale neighbour entry, a proxy rule not yet
//! updated) does not reach the pod that took its address.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// A pod CIDR such as `10.244.0.0/24`, with the addresses handed out.
#[derive(Debug, Clone)]
pub struct Pool {
    network: u32,
    prefix: u8,
    used: BTreeSet<u32>,
    /// The address handed out last; the search for a free one starts after it.
    last: u32,
    /// Addresses given only to those asking for them by name (network, prefix).
    requested_only: Option<(u32, u8)>,
}

/// A CIDR that cannot serve as a pod network.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("pod CIDR {0:?}: expected an IPv4 network such as 10.244.0.0/24, prefix 8 to 29")]
pub struct BadCidr(pub String);

impl Pool {
    /// Parse `a.b.c.d/prefix`; host bits must be zero.
    pub fn new(cidr: &str) -> Result<Self, BadCidr> {
        let bad = || BadCidr(cidr.to_string());
        let (address, prefix) = cidr.split_once('/').ok_or_else(bad)?;
        let address: Ipv4Addr = address.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if !(8..=29).contains(&prefix) {
            return Err(bad());
        }
        let network = u32::from(address);
        if network & !mask(prefix) != 0 {
            return Err(bad());
        }
        Ok(Self {
            network,
            prefix,
            used: BTreeSet::new(),
            last: network + 1,
            requested_only: None,
        })
    }

    /// Hand out the addresses of `cidr` (inside the pool) only through [`Pool::claim`], never
    /// through [`Pool::allocate`]: static addresses stay free for whoever asks for them.
    pub fn reserve_for_requests(mut self, cidr: &str) -> Result<Self, BadCidr> {
        let range = Self::new(cidr)?;
        let inside =
            range.prefix >= self.prefix && range.network & mask(self.prefix) == self.network;
        if !inside {
            return Err(BadCidr(cidr.to_string()));
        }
        self.requested_only = Some((range.network, range.prefix));
        Ok(self)
    }

    fn reserved(&self, address: u32) -> bool {
        self.requested_only
            .is_some_and(|(network, prefix)| address & mask(prefix) == network)
    }

    /// The bridge's address: the first host of the network.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }

    /// Prefix length, for addresses written as `ip/prefix`.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The next free address after the last one handed out, or `None` when the pool is
    /// exhausted.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let broadcast = self.network | !mask(self.prefix);
        let first = self.network + 2;
        let start = self.last.saturating_add(1).clamp(first, broadcast);
        let free = (start..broadcast)
            .chain(first..start)
            .find(|a| !self.used.contains(a) && !self.reserved(*a))?;
        self.used.insert(free);
        self.last = free;
        Some(Ipv4Addr::from(free))
    }

    /// Take `address` if it is a free host address of the pool (one a Service asks for, or
    /// already has from before a restart). False when it is outside the pool or taken.
    pub fn claim(&mut self, address: Ipv4Addr) -> bool {
        let value = u32::from(address);
        let broadcast = self.network | !mask(self.prefix);
        value >= self.network + 2 && value < broadcast && self.used.insert(value)
    }

    /// The pool as `network/prefix`.
    pub fn cidr(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }

    /// Give an address back.
    pub fn release(&mut self, address: Ipv4Addr) {
        self.used.remove(&u32::from(address));
    }
}

fn mask(prefix: u8) -> u32 {
    u32::MAX << (32 - u32::from(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_host_addresses_after_the_gateway_and_reuses_released_ones() {
        let mut pool = Pool::new("10.244.3.0/29").unwrap();
        assert_eq!(pool.gateway(), Ipv4Addr::new(10, 244, 3, 1));
        let all: Vec<_> = std::iter::from_fn(|| pool.allocate()).collect();
        // .0 is the network, .1 the bridge, .7 broadcast.
        assert_eq!(all.first(), Some(&Ipv4Addr::new(10, 244, 3, 2)));
        assert_eq!(all.len(), 5);
        pool.release(Ipv4Addr::new(10, 244, 3, 4));
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 244, 3, 4)));
        assert_eq!(pool.allocate(), None);
    }

    #[test]
    fn a_released_address_is_reused_only_after_the_others() {
        let mut pool = Pool::new("10.244.3.0/29").unwrap();
        let two = pool.allocate().unwrap();
        let three = pool.allocate().unwrap();
        pool.release(two);
        // .2 is free again, but .4, .5 and .6 come first.
        let next: Vec<_> = std::iter::from_fn(|| pool.allocate()).collect();
        assert_eq!(
            next,
            [4, 5, 6, 2].map(|host| Ipv4Addr::new(10, 244, 3, host))
        );
        pool.release(three);
        assert_eq!(pool.allocate(), Some(three));
    }

    #[test]
    fn claims_only_free_addresses_inside_the_pool() {
        let mut pool = Pool::new("10.250.0.0/24").unwrap();
        assert!(pool.claim(Ipv4Addr::new(10, 250, 0, 9)));
        assert!(!pool.claim(Ipv4Addr::new(10, 250, 0, 9)), "taken");
        assert!(!pool.claim(Ipv4Addr::new(10, 250, 1, 9)), "outside");
        assert!(!pool.claim(Ipv4Addr::new(10, 250, 0, 1)), "the gateway");
        assert_eq!(pool.cidr(), "10.250.0.0/24");
    }

    #[test]
    fn reserved_addresses_are_only_claimed() {
        let mut pool = Pool::new("10.250.0.0/28")
            .unwrap()
            .reserve_for_requests("10.250.0.8/29")
            .unwrap();
        let allocated: Vec<_> = std::iter::from_fn(|| pool.allocate()).collect();
        assert_eq!(
            allocated,
            [2, 3, 4, 5, 6, 7].map(|host| Ipv4Addr::new(10, 250, 0, host))
        );
        assert!(pool.claim(Ipv4Addr::new(10, 250, 0, 10)));
        assert!(
            Pool::new("10.250.0.0/24")
                .unwrap()
                .reserve_for_requests("10.251.0.0/28")
                .is_err(),
            "a reserved range lies inside the pool"
        );
    }

    #[test]
    fn rejects_what_is_not_a_network() {
        for bad in [
            "10.244.0.1/24",
            "10.244.0.0",
            "10.244.0.0/31",
            "fd00::/64",
            "x/24",
        ] {
            assert!(Pool::new(bad).is_err(), "{bad}");
        }
    }
}
