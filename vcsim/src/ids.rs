//! Deterministic identifiers: UUIDs and MAC addresses drawn from the run's seed and a counter,
//! never from the OS, so one seed gives one inventory. Secrets (session keys, tickets) are not
//! identifiers: they come from [`crate::secret`].

/// A generator of identifiers for one emulator run.
#[derive(Clone, Debug)]
pub struct IdGen {
    seed: u64,
    counter: u64,
}

/// SplitMix64's finaliser: a bijective mix that turns (seed, counter) into well-spread bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl IdGen {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> IdGen {
        IdGen { seed, counter: 0 }
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.counter += 1;
        mix(self.seed ^ mix(self.counter))
    }

    /// A version-4-shaped UUID (`xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx`).
    pub fn uuid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        uuid_v4(hi, lo)
    }

    /// A MAC address in VMware's generated range (`00:50:56:xx:xx:xx`).
    pub fn mac(&mut self) -> String {
        let b = self.next_u64();
        format!(
            "00:50:56:{:02x}:{:02x}:{:02x}",
            (b >> 16) & 0x3f,
            (b >> 8) & 0xff,
            b & 0xff
        )
    }
}

/// 128 bits shaped as a version-4 UUID (`xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx`).
pub fn uuid_v4(hi: u64, lo: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0x0fff,
        0x8000 | ((lo >> 48) & 0x3fff),
        lo & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids() {
        let mut a = IdGen::new(7);
        let mut b = IdGen::new(7);
        assert_eq!(a.uuid(), b.uuid());
        assert_ne!(a.uuid(), IdGen::new(8).uuid());
        let u = a.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(a.mac().starts_with("00:50:56:"));
    }
}
