//! Identifiers: request ids, message ids, receipt handles, temporary keys.
//! A seeded counter through splitmix64 is unique and random-looking enough
//! for an emulator, and costs one atomic add.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of unique, random-looking identifiers.
#[derive(Debug)]
pub struct Ids {
    counter: AtomicU64,
    seed: u64,
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Ids {
    /// Seeds from the real clock so two emulator runs differ.
    pub fn new() -> Self {
        Ids {
            counter: AtomicU64::new(1),
            seed: crate::clock::real_now_ms() as u64 ^ u64::from(std::process::id()) << 40,
        }
    }

    /// The next 64 random-looking bits; never repeats within a run.
    pub fn next_u64(&self) -> u64 {
        splitmix64(self.seed ^ splitmix64(self.counter.fetch_add(1, Ordering::Relaxed)))
    }

    /// `n` upper-case hex digits (n <= 32).
    pub fn hex(&self, n: usize) -> String {
        let mut s = String::with_capacity(32);
        let _ = write!(s, "{:016X}{:016X}", self.next_u64(), self.next_u64());
        s.truncate(n.min(32));
        s
    }

    /// A RequestId shaped like the gateway's (a UUID in upper case).
    pub fn request_id(&self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// Alphanumeric text, for temporary secrets and security tokens.
    pub fn alnum(&self, n: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::with_capacity(n);
        let mut bits = self.next_u64();
        for i in 0..n {
            if i % 10 == 9 {
                bits = self.next_u64();
            }
            s.push(ALPHABET[(bits % ALPHABET.len() as u64) as usize] as char);
            bits /= ALPHABET.len() as u64;
        }
        s
    }
}

impl Default for Ids {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_shaped() {
        let ids = Ids::new();
        let a = ids.request_id();
        let b = ids.request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(ids.alnum(24).len(), 24);
        assert!(ids.hex(20).chars().all(|c| c.is_ascii_hexdigit()));
    }
}
