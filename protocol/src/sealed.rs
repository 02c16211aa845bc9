//! Sealed delivery (PROTOCOL.md §9.6): HPKE base mode, DHKEM(X25519, HKDF-SHA256),
//! HKDF-SHA256, AES-256-GCM, bound to the key's serial, the account and a counter.

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::Zeroizing;

use crate::crypto::Seed;
use crate::message::{KeyError, Sealed, Secret};

const LABEL: &[u8] = b"latchkey-sealed-v1";

/// What a sealed password is bound to.
pub fn context(serial: &str, account: u16, counter: u32) -> Vec<u8> {
    let mut c = LABEL.to_vec();
    c.extend_from_slice(serial.as_bytes());
    c.push(0);
    c.extend_from_slice(&account.to_be_bytes());
    c.extend_from_slice(&counter.to_be_bytes());
    c
}

/// Seals `password` to the key whose static public key is `key_public`.
pub fn seal(
    key_public: &[u8; 32],
    serial: &str,
    account: u16,
    counter: u32,
    password: &Secret,
    seed: Seed,
) -> Result<Sealed, KeyError> {
    let public = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(key_public).map_err(|_| KeyError::SealedInvalid)?;
    let ctx = context(serial, account, counter);
    let mut rng = ChaCha20Rng::from_seed(seed);
    let (encapsulated, ciphertext) = hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
        &OpModeS::Base,
        &public,
        &ctx,
        password.expose().as_bytes(),
        &ctx,
        &mut rng,
    )
    .map_err(|_| KeyError::SealedInvalid)?;
    let mut encapsulated_key = [0u8; 32];
    encapsulated_key.copy_from_slice(&encapsulated.to_bytes());
    Ok(Sealed { encapsulated_key, ciphertext })
}

/// Opens a sealed password with the key's static secret.
pub fn open(
    key_secret: &[u8; 32],
    serial: &str,
    account: u16,
    counter: u32,
    sealed: &Sealed,
) -> Result<Secret, KeyError> {
    let secret = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(key_secret).map_err(|_| KeyError::SealedInvalid)?;
    let encapsulated = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&sealed.encapsulated_key)
        .map_err(|_| KeyError::SealedInvalid)?;
    let ctx = context(serial, account, counter);
    let plain = Zeroizing::new(
        hpke::single_shot_open::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &secret,
            &encapsulated,
            &ctx,
            &sealed.ciphertext,
            &ctx,
        )
        .map_err(|_| KeyError::SealedInvalid)?,
    );
    let text = std::str::from_utf8(&plain).map_err(|_| KeyError::SealedInvalid)?;
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyPair;

    #[test]
    fn opens_only_for_its_key_account_and_counter() {
        let key = KeyPair::from_seed([3; 32]);
        let other = KeyPair::from_seed([4; 32]);
        let sealed = seal(&key.public, "K1", 7, 2, &Secret::new("Reset-Pass-1"), [5; 32]).unwrap();
        assert_eq!(open(&key.secret, "K1", 7, 2, &sealed).unwrap().expose(), "Reset-Pass-1");
        assert_eq!(open(&other.secret, "K1", 7, 2, &sealed), Err(KeyError::SealedInvalid));
        assert_eq!(open(&key.secret, "K2", 7, 2, &sealed), Err(KeyError::SealedInvalid));
        assert_eq!(open(&key.secret, "K1", 8, 2, &sealed), Err(KeyError::SealedInvalid));
        assert_eq!(open(&key.secret, "K1", 7, 3, &sealed), Err(KeyError::SealedInvalid));
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(open(&key.secret, "K1", 7, 2, &tampered), Err(KeyError::SealedInvalid));
    }
}
