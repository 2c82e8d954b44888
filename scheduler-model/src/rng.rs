//! `SimRng`: the model's only source of randomness.
//!
//! A named, portable generator (PCG-64 MCG, `rand_pcg::Pcg64Mcg`) behind a small integer-first API,
//! so the stream for a seed is fixed by this file and not by whatever `rand` version is resolved.
//! Streams are derived per purpose (e.g. one per VM) with SplitMix64 so adding a VM does not
//! perturb the draws of the others.

use core::convert::Infallible;
use rand_pcg::Pcg64Mcg;

/// SplitMix64 finaliser: spreads a 64-bit seed over the state space (Steele et al., 2014).
const fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic pseudo-random generator (PCG-64 MCG, seeded through SplitMix64).
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: Pcg64Mcg,
}

impl SimRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> SimRng {
        SimRng::stream(seed, 0)
    }

    /// An independent stream for (`seed`, `stream_id`), e.g. one per VM.
    pub fn stream(seed: u64, stream_id: u64) -> SimRng {
        let hi = splitmix64(seed ^ splitmix64(stream_id));
        let lo = splitmix64(hi ^ 0x6A09_E667_F3BC_C909 ^ stream_id);
        let state = (u128::from(hi) << 64) | u128::from(lo);
        SimRng {
            inner: Pcg64Mcg::new(state),
        }
    }

    /// The next 64 uniformly random bits.
    pub fn next_u64(&mut self) -> u64 {
        rand_core::Rng::next_u64(&mut self.inner)
    }

    /// Uniform integer in `0..n` without modulo bias (Lemire's multiply-and-reject); 0 when `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// `true` with probability `numerator / denominator` (exact, integer arithmetic).
    /// Always `false` when `denominator == 0`.
    pub fn ratio(&mut self, numerator: u64, denominator: u64) -> bool {
        denominator != 0 && self.below(denominator) < numerator
    }

    /// Uniform `f64` in `[0, 1)` built from the top 53 bits of one `next_u64`.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Lets `statrs` distributions sample through `SimRng` (they take any `rand::Rng`).
impl rand_core::TryRng for SimRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next_u64() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Canary: if this changes, every recorded run changes. Do not "fix" by editing the numbers.
    #[test]
    fn canary_first_outputs_for_seed_42() {
        let mut rng = SimRng::new(42);
        let got: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(got, CANARY_42);
    }

    const CANARY_42: [u64; 4] = [
        7_592_678_052_949_418_061,
        4_654_140_784_498_036_814,
        6_567_192_187_797_279_577,
        16_600_309_261_369_328_196,
    ];

    #[test]
    fn canary_derived_draws() {
        let mut rng = SimRng::new(42);
        let below: Vec<u64> = (0..4).map(|_| rng.below(1000)).collect();
        let again: Vec<u64> = (0..4).map(|_| SimRng::new(42).below(1000)).collect();
        assert_eq!(again, vec![below[0]; 4]);
        assert_eq!(below[0], ((u128::from(CANARY_42[0]) * 1000) >> 64) as u64);
    }

    #[test]
    fn below_is_in_range_and_streams_differ() {
        let mut a = SimRng::stream(7, 1);
        let mut b = SimRng::stream(7, 2);
        let xs: Vec<u64> = (0..64).map(|_| a.below(10)).collect();
        assert!(xs.iter().all(|&x| x < 10));
        assert_ne!(a.next_u64(), b.next_u64());
        assert_eq!(a.below(0), 0);
        assert!(!a.ratio(1, 0));
        assert!(a.ratio(5, 5));
        let u = a.unit_f64();
        assert!((0.0..1.0).contains(&u));
    }
}
