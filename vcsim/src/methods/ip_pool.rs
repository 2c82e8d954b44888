//! The IpPoolManager: per-datacenter IP pools (`CreateIpPool`, `QueryIpPools`,
//! `UpdateIpPool`, `DestroyIpPool`) and address allocation from them (`AllocateIpv4Address`,
//! `AllocateIpv6Address`, `QueryIPAllocations`, `ReleaseIpAllocation`).
//!
//! Facts from the API reference: a pool belongs to the datacenter it was created on; its
//! name must be set and unique on that datacenter (`InvalidArgument` otherwise); the server
//! generates its id. `IpPoolIpPoolConfigInfo.range` is a comma-separated list of
//! `start#count` ranges (`10.0.0.10#5, 10.0.1.1#3`), each inside the pool's subnet.
//! Allocation is idempotent per extension and allocation id: the same id in the same pool
//! yields the same address. An exhausted pool answers the empty string (the documented
//! return value — vcsim faults instead). Addresses stay allocated until released, until an
//! update leaves them outside the ranges, or until the pool is destroyed; destroying a pool
//! in use (addresses allocated or networks associated) is `InvalidState` unless `force`.
//!
//! The caller "must be a vCenter extension"; sessions here are user sessions, so an
//! allocation is owned by the session's user name, which is the `extensionKey`
//! `QueryIPAllocations` filters by.

use super::conform::{checked, text};
use super::{Args, CallContext, user_of};
use crate::emulator::Emulator;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Most pools the manager holds, over all datacenters.
pub const POOLS_MAX: usize = 1024;
/// Most allocations one pool holds (both families together).
pub const ALLOCATIONS_MAX: usize = 65_536;
/// Most `start#count` ranges in one range string.
pub const RANGES_MAX: usize = 256;
/// Longest allocation id or extension key accepted, in characters.
const ID_MAX_CHARS: usize = 256;
/// Longest pool name accepted, in characters.
const NAME_MAX_CHARS: usize = 255;

/// One `start#count` range, addresses as integers (IPv4 in the low 32 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    start: u128,
    count: u128,
}

/// One family's address ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Ranges {
    v6: bool,
    ranges: Vec<Range>,
}

impl Ranges {
    fn total(&self) -> u128 {
        self.ranges.iter().map(|r| r.count).sum()
    }

    fn contains(&self, a: u128) -> bool {
        self.ranges
            .iter()
            .any(|r| a >= r.start && a - r.start < r.count)
    }

    /// The lowest address not in `taken` (each address skipped is a taken one, so the walk
    /// is bounded by the allocation count).
    fn first_free(&self, taken: &BTreeSet<u128>) -> Option<u128> {
        // By offset: a range may end at the last address of the space, past which
        // `address + 1` would overflow.
        self.ranges.iter().find_map(|r| {
            (0..r.count)
                .map(|off| r.start + off)
                .find(|a| !taken.contains(a))
        })
    }

    fn show(&self, a: u128) -> String {
        if self.v6 {
            Ipv6Addr::from(a).to_string()
        } else {
            Ipv4Addr::from(a as u32).to_string()
        }
    }
}

fn parse_addr(s: &str, v6: bool) -> Option<u128> {
    let s = s.trim();
    if v6 {
        s.parse::<Ipv6Addr>().ok().map(u128::from)
    } else {
        s.parse::<Ipv4Addr>().ok().map(|a| u128::from(u32::from(a)))
    }
}

/// Parses `range` (`start#count[, start#count…]`) of one family, checking each range lies
/// inside `subnet`/`mask` when both are given and that no two ranges overlap. The error
/// names what is wrong.
fn parse_ranges(
    range: &str,
    v6: bool,
    subnet: Option<&str>,
    mask: Option<&str>,
) -> Result<Ranges, String> {
    let bits: u32 = if v6 { 128 } else { 32 };
    let space_end: u128 = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    let net = match (
        subnet.filter(|s| !s.trim().is_empty()),
        mask.filter(|s| !s.trim().is_empty()),
    ) {
        (Some(s), Some(m)) => {
            let s = parse_addr(s, v6).ok_or_else(|| format!("bad subnet address {s:?}"))?;
            let m = parse_addr(m, v6).ok_or_else(|| format!("bad netmask {m:?}"))?;
            Some((s & m, m))
        }
        _ => None,
    };
    let mut out = Ranges {
        v6,
        ranges: Vec::new(),
    };
    for part in range.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if out.ranges.len() >= RANGES_MAX {
            return Err(format!("more than {RANGES_MAX} ranges"));
        }
        let (start, count) = part
            .split_once('#')
            .ok_or_else(|| format!("range {part:?} is not start#count"))?;
        let start = parse_addr(start, v6).ok_or_else(|| format!("bad address in {part:?}"))?;
        let count: u128 = count
            .trim()
            .parse()
            .ok()
            .filter(|c| *c >= 1 && (bits == 128 || *c <= 1u128 << bits))
            .ok_or_else(|| format!("bad count in {part:?}"))?;
        let last = start
            .checked_add(count - 1)
            .filter(|l| *l <= space_end)
            .ok_or_else(|| format!("range {part:?} runs past the address space"))?;
        if let Some((net, m)) = net
            && (start & m != net || last & m != net)
        {
            return Err(format!("range {part:?} is outside the subnet"));
        }
        let overlaps = out
            .ranges
            .iter()
            .any(|r| start <= r.start + (r.count - 1) && r.start <= last);
        if overlaps {
            return Err(format!("range {part:?} overlaps another range"));
        }
        out.ranges.push(Range { start, count });
    }
    Ok(out)
}

/// One allocation: the addresses it holds.
#[derive(Clone, Debug, Default)]
struct Allocation {
    v4: Option<u128>,
    v6: Option<u128>,
}

/// One pool.
#[derive(Clone, Debug)]
struct Pool {
    id: i32,
    name: String,
    /// The pool as configured.
    config: PoolConfig,
    v4: Ranges,
    v6: Ranges,
    /// Allocations by (owner, allocation id).
    allocations: BTreeMap<(String, String), Allocation>,
}

impl Pool {
    fn taken(&self, v6: bool) -> BTreeSet<u128> {
        self.allocations
            .values()
            .filter_map(|a| if v6 { a.v6 } else { a.v4 })
            .collect()
    }

    fn in_use(&self) -> bool {
        !self.allocations.is_empty() || self.config.iter().any(|(n, _)| n == "networkAssociation")
    }

    fn to_value(&self) -> Value {
        let count = |n: u128| Value::Int(n.min(i32::MAX as u128) as i32);
        let used4 = self.taken(false).len() as u128;
        let used6 = self.taken(true).len() as u128;
        let mut d = DataObject::new("IpPool")
            .with("id", Value::Int(self.id))
            .with("name", Value::str(self.name.clone()));
        for (n, v) in &self.config {
            if n == "name" {
                continue;
            }
            if let Some(f) = crate::vmodl::field("IpPool", n) {
                d = d.with(f.name, v.clone());
            }
        }
        d.with(
            "availableIpv4Addresses",
            count(self.v4.total().saturating_sub(used4)),
        )
        .with(
            "availableIpv6Addresses",
            count(self.v6.total().saturating_sub(used6)),
        )
        .with("allocatedIpv4Addresses", count(used4))
        .with("allocatedIpv6Addresses", count(used6))
        .into_value()
    }
}

/// Every pool, by (datacenter reference value, id).
#[derive(Debug, Default)]
pub struct IpPoolState {
    pools: BTreeMap<(String, i32), Pool>,
    last_id: i32,
}

/// Under vcsim's model (`vicbed vcsim`), vcsim's `ip-pool` (ids from 1: vcsim shares one pool
/// among all datacenters, here each datacenter has its own copy): IPv4 `10.10.10.2#250` and
/// IPv6 `2001:4860:0:2001::2#250`. vcsim's IPv4 netmask (`10.10.10.255`) is not a netmask;
/// the seeded pool says `255.255.255.0`. vCenter itself starts with no pools. Run once,
/// when the model is built.
pub fn seed_vcsim_defaults(emu: &mut Emulator) {
    if emu.config.vcsim_model.is_none() || emu.refs.ip_pool_manager.is_none() {
        return;
    }
    let dcs: Vec<MoRef> = emu
        .inv
        .iter()
        .filter(|o| o.moref.ty == "Datacenter")
        .map(|o| o.moref.clone())
        .take(POOLS_MAX)
        .collect();
    let family = |subnet: &str, mask: &str, gateway: &str, range: &str| {
        DataObject::new("IpPoolIpPoolConfigInfo")
            .with("subnetAddress", Value::str(subnet))
            .with("netmask", Value::str(mask))
            .with("gateway", Value::str(gateway))
            .with("range", Value::str(range))
            .into_value()
    };
    let config: PoolConfig = vec![
        (
            "ipv4Config".into(),
            family(
                "10.10.10.0",
                "255.255.255.0",
                "10.10.10.1",
                "10.10.10.2#250",
            ),
        ),
        (
            "ipv6Config".into(),
            family(
                "2001:4860:0:2001::0",
                "ffff:ffff:ffff:ffff::",
                "2001:4860:0:2001::1",
                "2001:4860:0:2001::2#250",
            ),
        ),
    ];
    let Ok((v4, v6)) = ranges_of(&config) else {
        return;
    };
    for dc in dcs {
        emu.ip_pools.last_id += 1;
        let id = emu.ip_pools.last_id;
        emu.ip_pools.pools.insert(
            (dc.value, id),
            Pool {
                id,
                name: "ip-pool".into(),
                config: config.clone(),
                v4: v4.clone(),
                v6: v6.clone(),
                allocations: BTreeMap::new(),
            },
        );
    }
}

fn datacenter(emu: &Emulator, args: &Args<'_>) -> Result<MoRef, Fault> {
    let dc = args.moref("dc")?;
    if emu.inv.get(&dc)?.moref.ty != "Datacenter" {
        return Err(Fault::invalid_argument("dc"));
    }
    Ok(dc)
}

fn bad_pool(what: &str, why: String) -> Fault {
    Fault::new(
        "InvalidArgument",
        format!("A specified parameter was not correct: {what} ({why})"),
    )
    .with("invalidProperty", Value::str(what))
}

/// The configured fields of a pool argument (`IpPool` fields other than the id and the
/// counts), by name.
type PoolConfig = Vec<(String, Value)>;

/// The pool argument: its id and name when set, and its configured fields.
fn parse_pool(args: &Args<'_>) -> Result<(Option<i32>, Option<String>, PoolConfig), Fault> {
    let el = args
        .element("pool")
        .ok_or_else(|| Fault::invalid_argument("pool"))?;
    let pool = checked(el, "IpPool", |p| bad_pool("pool", p))?;
    let id = match pool.field("id") {
        Some(v) => Some(
            v.as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| Fault::invalid_argument("pool.id"))?,
        ),
        None => None,
    };
    let name = text(&pool, "name").map(|n| n.trim().to_owned());
    if let Some(n) = &name
        && (n.is_empty() || n.chars().count() > NAME_MAX_CHARS || n.chars().any(char::is_control))
    {
        return Err(Fault::invalid_argument("pool.name"));
    }
    let config = pool
        .as_data()
        .map(|d| {
            d.fields
                .iter()
                .filter(|(n, _)| {
                    !matches!(
                        n.as_ref(),
                        "id" | "availableIpv4Addresses"
                            | "availableIpv6Addresses"
                            | "allocatedIpv4Addresses"
                            | "allocatedIpv6Addresses"
                    )
                })
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok((id, name, config))
}

/// Both families' ranges of a configuration.
fn ranges_of(config: &[(String, Value)]) -> Result<(Ranges, Ranges), Fault> {
    let family = |field: &str, v6: bool| -> Result<Ranges, Fault> {
        let Some((_, c)) = config.iter().find(|(n, _)| n == field) else {
            return Ok(Ranges {
                v6,
                ranges: Vec::new(),
            });
        };
        let range = text(c, "range").unwrap_or_default();
        parse_ranges(range, v6, text(c, "subnetAddress"), text(c, "netmask"))
            .map_err(|why| bad_pool(&format!("pool.{field}.range"), why))
    };
    Ok((family("ipv4Config", false)?, family("ipv6Config", true)?))
}

fn name_taken(emu: &Emulator, dc: &MoRef, name: &str, except: Option<i32>) -> bool {
    emu.ip_pools
        .pools
        .iter()
        .any(|((d, id), p)| d == &dc.value && Some(*id) != except && p.name == name)
}

/// `CreateIpPool(dc, pool)`: the new pool's id.
pub fn create(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let dc = datacenter(emu, args)?;
    let (_, name, config) = parse_pool(args)?;
    let name = name.ok_or_else(|| Fault::invalid_argument("pool.name"))?;
    if name_taken(emu, &dc, &name, None) {
        return Err(bad_pool(
            "pool.name",
            format!("a pool named {name:?} exists on the datacenter"),
        ));
    }
    let (v4, v6) = ranges_of(&config)?;
    let st = &mut emu.ip_pools;
    if st.pools.len() >= POOLS_MAX {
        return Err(Fault::new(
            "RuntimeFault",
            format!("Too many IP pools (at most {POOLS_MAX})"),
        ));
    }
    st.last_id = st
        .last_id
        .checked_add(1)
        .ok_or_else(|| Fault::new("RuntimeFault", "IP pool ids exhausted"))?;
    let id = st.last_id;
    st.pools.insert(
        (dc.value, id),
        Pool {
            id,
            name,
            config,
            v4,
            v6,
            allocations: BTreeMap::new(),
        },
    );
    Ok(Some(Value::Int(id)))
}

/// `QueryIpPools(dc)`: the datacenter's pools in id order.
pub fn query(emu: &Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let dc = datacenter(emu, args)?;
    let pools = emu
        .ip_pools
        .pools
        .iter()
        .filter(|((d, _), _)| d == &dc.value)
        .map(|(_, p)| p.to_value())
        .collect();
    Ok(Some(Value::array("IpPool", pools)))
}

fn pool_mut<'a>(
    emu: &'a mut Emulator,
    dc: &MoRef,
    id: i32,
    field: &str,
) -> Result<&'a mut Pool, Fault> {
    emu.ip_pools
        .pools
        .get_mut(&(dc.value.clone(), id))
        .ok_or_else(|| bad_pool(field, format!("no IP pool {id} on the datacenter")))
}

/// `UpdateIpPool(dc, pool)`: the fields the pool sets replace the configured ones;
/// allocations the new ranges no longer hold are released.
pub fn update(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let dc = datacenter(emu, args)?;
    let (id, name, changes) = parse_pool(args)?;
    let id = id.ok_or_else(|| Fault::invalid_argument("pool.id"))?;
    pool_mut(emu, &dc, id, "pool.id")?;
    if let Some(n) = &name
        && name_taken(emu, &dc, n, Some(id))
    {
        return Err(bad_pool(
            "pool.name",
            format!("a pool named {n:?} exists on the datacenter"),
        ));
    }
    let pool = pool_mut(emu, &dc, id, "pool.id")?;
    let mut config = pool.config.clone();
    // A field the update sets replaces every value it had (repeated fields such as
    // `networkAssociation` arrive as several entries of one name).
    config.retain(|(k, _)| !changes.iter().any(|(n, _)| n == k));
    config.extend(changes);
    let (v4, v6) = ranges_of(&config)?;
    for a in pool.allocations.values_mut() {
        a.v4 = a.v4.filter(|x| v4.contains(*x));
        a.v6 = a.v6.filter(|x| v6.contains(*x));
    }
    pool.allocations
        .retain(|_, a| a.v4.is_some() || a.v6.is_some());
    pool.config = config;
    pool.v4 = v4;
    pool.v6 = v6;
    if let Some(n) = name {
        pool.name = n;
    }
    Ok(None)
}

/// `DestroyIpPool(dc, id, force)`: `InvalidState` for a pool in use unless `force`.
pub fn destroy(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let dc = datacenter(emu, args)?;
    let id = int_arg(args, "id")?;
    let force = args.opt_bool("force")?.unwrap_or(false);
    let pool = pool_mut(emu, &dc, id, "id")?;
    if pool.in_use() && !force {
        return Err(Fault::invalid_state(format!(
            "The IP pool {} is in use",
            pool.name
        )));
    }
    emu.ip_pools.pools.remove(&(dc.value, id));
    Ok(None)
}

fn int_arg(args: &Args<'_>, name: &str) -> Result<i32, Fault> {
    args.opt_i64(name)?
        .and_then(|i| i32::try_from(i).ok())
        .ok_or_else(|| Fault::invalid_argument(name))
}

fn id_arg<'a>(args: &Args<'a>, name: &str) -> Result<&'a str, Fault> {
    let id = args.text(name)?;
    if id.is_empty() || id.chars().count() > ID_MAX_CHARS {
        return Err(Fault::invalid_argument(name));
    }
    Ok(id)
}

/// `AllocateIpv4Address` / `AllocateIpv6Address(dc, poolId, allocationId)`: the address the
/// allocation holds (the same one on every call), or the empty string when the pool has no
/// free address of that family.
pub fn allocate(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
    v6: bool,
) -> Result<Option<Value>, Fault> {
    let dc = datacenter(emu, args)?;
    let pool_id = int_arg(args, "poolId")?;
    let alloc_id = id_arg(args, "allocationId")?.to_owned();
    let owner = user_of(emu, ctx);
    let pool = pool_mut(emu, &dc, pool_id, "poolId")?;
    let key = (owner, alloc_id);
    let family = if v6 { &pool.v6 } else { &pool.v4 };
    if let Some(a) = pool.allocations.get(&key)
        && let Some(x) = if v6 { a.v6 } else { a.v4 }
    {
        return Ok(Some(Value::str(family.show(x))));
    }
    if !pool.allocations.contains_key(&key) && pool.allocations.len() >= ALLOCATIONS_MAX {
        return Ok(Some(Value::str("")));
    }
    let Some(x) = family.first_free(&pool.taken(v6)) else {
        return Ok(Some(Value::str("")));
    };
    let shown = family.show(x);
    let a = pool.allocations.entry(key).or_default();
    if v6 {
        a.v6 = Some(x);
    } else {
        a.v4 = Some(x);
    }
    Ok(Some(Value::str(shown)))
}

/// `ReleaseIpAllocation(dc, poolId, allocationId)`: frees both addresses of the caller's
/// allocation (an unknown allocation is no error).
pub fn release(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let dc = datacenter(emu, args)?;
    let pool_id = int_arg(args, "poolId")?;
    let alloc_id = id_arg(args, "allocationId")?.to_owned();
    let owner = user_of(emu, ctx);
    let pool = pool_mut(emu, &dc, pool_id, "poolId")?;
    pool.allocations.remove(&(owner, alloc_id));
    Ok(None)
}

/// `QueryIPAllocations(dc, poolId, extensionKey)`: the allocations that extension holds,
/// one entry per address.
pub fn query_allocations(emu: &Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let dc = datacenter(emu, args)?;
    let pool_id = int_arg(args, "poolId")?;
    let ext = id_arg(args, "extensionKey")?;
    let pool = emu
        .ip_pools
        .pools
        .get(&(dc.value.clone(), pool_id))
        .ok_or_else(|| bad_pool("poolId", format!("no IP pool {pool_id} on the datacenter")))?;
    let mut out = Vec::new();
    for ((owner, id), a) in &pool.allocations {
        if owner != ext {
            continue;
        }
        for (x, fam) in [(a.v4, &pool.v4), (a.v6, &pool.v6)] {
            if let Some(x) = x {
                out.push(
                    DataObject::new("IpPoolManagerIpAllocation")
                        .with("ipAddress", Value::str(fam.show(x)))
                        .with("allocationId", Value::str(id.clone()))
                        .into_value(),
                );
            }
        }
    }
    Ok(Some(Value::array("IpPoolManagerIpAllocation", out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Result<Ranges, String> {
        parse_ranges(s, false, Some("10.0.0.0"), Some("255.255.255.0"))
    }

    #[test]
    fn ranges_parse_with_counts_and_commas() {
        let r = v4("10.0.0.10#5, 10.0.0.100#3").unwrap();
        assert_eq!(r.total(), 8);
        assert!(r.contains(u128::from(u32::from(Ipv4Addr::new(10, 0, 0, 14)))));
        assert!(!r.contains(u128::from(u32::from(Ipv4Addr::new(10, 0, 0, 15)))));
        assert_eq!(r.show(r.ranges[1].start), "10.0.0.100");
        assert_eq!(v4("").unwrap().total(), 0);
    }

    #[test]
    fn bad_ranges_say_why() {
        for bad in [
            "10.0.0.10",
            "10.0.0.10#0",
            "10.0.0.10#x",
            "10.0.0.300#2",
            "10.0.1.1#2",
            "10.0.0.250#10",
            "10.0.0.10#5,10.0.0.12#2",
        ] {
            assert!(v4(bad).is_err(), "{bad}");
        }
        assert!(parse_ranges("255.255.255.255#2", false, None, None).is_err());
    }

    /// A full range that ends at the top of the address space has no free address (and
    /// the search does not step past the top).
    #[test]
    fn a_full_range_at_the_top_of_the_space_is_full() {
        let r = parse_ranges(
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff#1",
            true,
            None,
            None,
        )
        .unwrap();
        let taken = BTreeSet::from([u128::MAX]);
        assert_eq!(r.first_free(&taken), None);
    }

    #[test]
    fn ipv6_ranges_and_first_free() {
        let r = parse_ranges(
            "2001:db8::10#3",
            true,
            Some("2001:db8::"),
            Some("ffff:ffff:ffff:ffff::"),
        )
        .unwrap();
        let start = r.ranges[0].start;
        let mut taken = BTreeSet::new();
        assert_eq!(r.first_free(&taken), Some(start));
        taken.insert(start);
        taken.insert(start + 1);
        assert_eq!(r.show(r.first_free(&taken).unwrap()), "2001:db8::12");
        taken.insert(start + 2);
        assert_eq!(r.first_free(&taken), None);
    }
}
