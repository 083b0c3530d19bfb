//! Instance subnets. Every instance gets its own bridge network; a stock Docker daemon hands
//! out only ~30 bridge subnets from its default pools, so ctfdeck carves small subnets from
//! its own pool instead (a /16 in /28s: 4096 instances).

use std::net::Ipv4Addr;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubnetPool {
    /// The pool, as CIDR. Empty: let the engine choose (stock daemon limits apply).
    pub pool: String,
    /// Prefix length of each instance's subnet.
    pub prefix: u8,
}

impl Default for SubnetPool {
    fn default() -> Self {
        SubnetPool {
            pool: "10.213.0.0/16".to_string(),
            prefix: 28,
        }
    }
}

impl SubnetPool {
    /// Parse the pool into (base address, pool prefix), checking it can hold subnets.
    pub fn parsed(&self) -> Result<Option<(u32, u8)>, String> {
        if self.pool.trim().is_empty() {
            return Ok(None);
        }
        let (addr, len) = self
            .pool
            .split_once('/')
            .ok_or_else(|| format!("network pool {:?} is not CIDR (a.b.c.d/len)", self.pool))?;
        let addr: Ipv4Addr = addr
            .trim()
            .parse()
            .map_err(|_| format!("network pool {:?}: bad address", self.pool))?;
        let len: u8 = len
            .trim()
            .parse()
            .ok()
            .filter(|l| *l <= 30)
            .ok_or_else(|| format!("network pool {:?}: bad prefix length", self.pool))?;
        if self.prefix < len || self.prefix > 30 {
            return Err(format!(
                "subnet prefix /{} must be between the pool's /{len} and /30",
                self.prefix
            ));
        }
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        Ok(Some((u32::from(addr) & mask, len)))
    }

    /// The `n`-th subnet of the pool (wrapping), as CIDR.
    pub fn subnet(&self, n: u32) -> Result<Option<String>, String> {
        let Some((base, len)) = self.parsed()? else {
            return Ok(None);
        };
        let count = 1u64 << (self.prefix - len);
        let index = u64::from(n) % count;
        let addr = base + (index as u32) * (1u32 << (32 - self.prefix));
        Ok(Some(format!("{}/{}", Ipv4Addr::from(addr), self.prefix)))
    }

    /// The pool as one label value, `10.213.0.0/16:28`, so that work the engine does later
    /// (an egress-denied instance's edge network, made at start) carves from it too.
    pub fn to_label(&self) -> String {
        format!("{}:{}", self.pool.trim(), self.prefix)
    }

    /// Read back [`SubnetPool::to_label`]; `None` when malformed.
    pub fn from_label(label: &str) -> Option<SubnetPool> {
        let (pool, prefix) = label.rsplit_once(':')?;
        let pool = SubnetPool {
            pool: pool.to_string(),
            prefix: prefix.parse().ok()?,
        };
        pool.parsed().ok().flatten().map(|_| pool)
    }

    pub fn capacity(&self) -> u64 {
        match self.parsed() {
            Ok(Some((_, len))) => 1u64 << (self.prefix - len),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_carved_from_the_pool() {
        let p = SubnetPool::default();
        assert_eq!(p.capacity(), 4096);
        assert_eq!(p.subnet(0).unwrap().as_deref(), Some("10.213.0.0/28"));
        assert_eq!(p.subnet(1).unwrap().as_deref(), Some("10.213.0.16/28"));
        assert_eq!(p.subnet(4096).unwrap().as_deref(), Some("10.213.0.0/28"));
        assert_eq!(
            p.subnet(4095).unwrap().as_deref(),
            Some("10.213.255.240/28")
        );
        let empty = SubnetPool {
            pool: String::new(),
            prefix: 28,
        };
        assert_eq!(empty.subnet(3).unwrap(), None);
        let bad = SubnetPool {
            pool: "10.0.0.0/24".into(),
            prefix: 16,
        };
        assert!(bad.subnet(0).is_err());
        assert!(
            SubnetPool {
                pool: "nope".into(),
                prefix: 28
            }
            .parsed()
            .is_err()
        );
    }

    #[test]
    fn a_pool_survives_a_label() {
        let p = SubnetPool::default();
        assert_eq!(p.to_label(), "10.213.0.0/16:28");
        assert_eq!(SubnetPool::from_label(&p.to_label()), Some(p));
        assert_eq!(SubnetPool::from_label("10.213.0.0/16"), None);
        assert_eq!(SubnetPool::from_label(":28"), None);
        assert_eq!(SubnetPool::from_label("10.0.0.0/24:16"), None);
    }
}
