//! The Noise parameters, and randomness that callers pass in (the crate has none of its own).

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use snow::params::{CipherChoice, DHChoice, HashChoice};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const NOISE_PARAMS: &str = "Noise_IK_25519_AESGCM_SHA256";
const PROLOGUE: &[u8] = b"latchkey-key-v1";
const ACTIVATION_LABEL: &[u8] = b"latchkey-activation-v1";

/// 32 bytes from the caller's CSPRNG; each use expands it with ChaCha20.
pub type Seed = [u8; 32];

/// A static X25519 key pair.
#[derive(Clone)]
pub struct KeyPair {
    pub public: [u8; 32],
    pub secret: Zeroizing<[u8; 32]>,
}

impl KeyPair {
    /// The key pair derived from `seed` (a key's identity at manufacture, the server's at setup).
    pub fn from_seed(seed: Seed) -> KeyPair {
        let mut secret = Zeroizing::new([0u8; 32]);
        ChaCha20Rng::from_seed(seed).fill_bytes(secret.as_mut());
        KeyPair::from_secret(*secret)
    }

    pub fn from_secret(secret: [u8; 32]) -> KeyPair {
        let public = x25519_dalek::x25519(secret, x25519_dalek::X25519_BASEPOINT_BYTES);
        KeyPair { public, secret: Zeroizing::new(secret) }
    }
}

/// The handshake's prologue: binds it to one key's serial.
pub fn prologue(serial: &str) -> Vec<u8> {
    [PROLOGUE, serial.as_bytes()].concat()
}

/// `SHA-256(label || serial || 0 || code)`: what a key stores instead of its activation code.
pub fn activation_hash(serial: &str, code: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ACTIVATION_LABEL);
    h.update(serial.as_bytes());
    h.update([0]);
    h.update(code.trim().as_bytes());
    h.finalize().into()
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A snow builder whose randomness comes from `seed`.
pub fn builder(seed: Seed) -> Result<snow::Builder<'static>, snow::Error> {
    let params = NOISE_PARAMS.parse()?;
    Ok(snow::Builder::with_resolver(params, Box::new(SeededResolver(seed))))
}

struct SeededResolver(Seed);

struct SeededRandom(ChaCha20Rng);

impl Random for SeededRandom {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoResolver for SeededResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(SeededRandom(ChaCha20Rng::from_seed(self.0))))
    }
    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        DefaultResolver.resolve_dh(choice)
    }
    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }
    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_compare_equal_and_any_difference_does_not() {
        assert!(constant_time_eq(b"12345678", b"12345678"));
        assert!(!constant_time_eq(b"12345678", b"12345679"));
        assert!(!constant_time_eq(b"1234567", b"12345678"), "a prefix is not equal");
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn key_pairs_are_deterministic_per_seed() {
        assert_eq!(KeyPair::from_seed([1; 32]).public, KeyPair::from_seed([1; 32]).public);
        assert_ne!(KeyPair::from_seed([1; 32]).public, KeyPair::from_seed([2; 32]).public);
    }

    #[test]
    fn activation_hash_binds_serial_and_code() {
        assert_ne!(activation_hash("A1", "12345678"), activation_hash("A2", "12345678"));
        assert_ne!(activation_hash("A1", "12345678"), activation_hash("A1", "12345679"));
        assert_eq!(activation_hash("A1", " 12345678 "), activation_hash("A1", "12345678"));
    }
}
