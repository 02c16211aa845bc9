//! The server's own secret: 32 random bytes in a file only the server may read (created mode
//! 0600 when missing), kept outside the database. Subkeys derived from it (HKDF-SHA256, one
//! label each) encrypt second-factor secrets at rest and key the audit chain's HMAC, so a copy
//! of the database alone reveals no TOTP secret and cannot re-chain an edited audit log.
//! Replicas share the file, like the key identity.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Marks a sealed value (and its format) in the store.
const SEALED_V1: &[u8] = b"LKS1";
const NONCE_LEN: usize = 12;

pub struct ServerSecrets {
    totp: Aes256Gcm,
    audit_key: Zeroizing<[u8; 32]>,
    code_key: Zeroizing<[u8; 32]>,
    check: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be opened (another server secret file?)")]
pub struct Unsealable;

impl ServerSecrets {
    /// Reads the secret file, or creates it (0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<ServerSecrets> {
        let master = match std::fs::read(path) {
            Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| anyhow::anyhow!("{} is not a 32-byte secret", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path)?,
            Err(e) => anyhow::bail!("cannot read the server secret {}: {e}", path.display()),
        };
        Ok(ServerSecrets::from_master(&Zeroizing::new(master)))
    }

    pub fn from_master(master: &[u8; 32]) -> ServerSecrets {
        let hk = Hkdf::<Sha256>::new(None, master);
        let mut totp_key = Zeroizing::new([0u8; 32]);
        let mut audit_key = Zeroizing::new([0u8; 32]);
        // Both lengths are valid for HKDF-SHA256: expand cannot fail.
        let _ = hk.expand(b"latchkey totp secrets v1", totp_key.as_mut());
        let _ = hk.expand(b"latchkey audit chain v1", audit_key.as_mut());
        let mut code_key = Zeroizing::new([0u8; 32]);
        let _ = hk.expand(b"latchkey one-time codes v1", code_key.as_mut());
        let mut check = [0u8; 32];
        let _ = hk.expand(b"latchkey secret check v1", &mut check);
        ServerSecrets { totp: Aes256Gcm::new((&*totp_key).into()), audit_key, code_key, check }
    }

    /// A second-factor secret as stored: marker, nonce, ciphertext.
    pub fn seal_totp(&self, plain: &[u8]) -> Result<Vec<u8>, Unsealable> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self.totp.encrypt(Nonce::from_slice(&nonce), plain).map_err(|_| Unsealable)?;
        Ok([SEALED_V1, &nonce, &ciphertext].concat())
    }

    pub fn open_totp(&self, stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, Unsealable> {
        let rest = stored.strip_prefix(SEALED_V1).ok_or(Unsealable)?;
        if rest.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.totp.decrypt(Nonce::from_slice(nonce), ciphertext).map(Zeroizing::new).map_err(|_| Unsealable)
    }

    /// Whether a stored value is sealed (rows written before secrets were sealed are not).
    pub fn is_sealed(stored: &[u8]) -> bool {
        stored.starts_with(SEALED_V1)
    }

    /// A value that tells this secret from another without revealing anything of it.
    pub fn check_value(&self) -> String {
        hex::encode(self.check)
    }

    /// A short one-time code as stored: an HMAC under the server secret, so that a copy of the
    /// database cannot try the few million codes there are against it.
    pub fn code_hash(&self, code: &str) -> String {
        let mut mac = keyed_mac(&self.code_key, b"");
        mac.update(code.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The audit chain's HMAC key.
    pub fn audit_key(&self) -> &[u8; 32] {
        &self.audit_key
    }
}

/// An HMAC-SHA256 under `key`, started with a label that keeps its uses apart (the same key
/// never serves two uses under one label).
pub fn keyed_mac(key: &[u8; 32], label: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: the fallback is never taken.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default()));
    mac.update(label);
    mac
}

fn create(path: &Path) -> anyhow::Result<[u8; 32]> {
    let master = create_random_file(path, "the server secret")?;
    Ok(*master)
}

/// 32 random bytes in a new file only the server's user may read (0600); `what` names it in
/// errors and the log.
pub fn create_random_file(path: &Path, what: &str) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(bytes.as_mut());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {what} {}: {e}", path.display()))?;
    file.write_all(bytes.as_ref())?;
    // On disk before anything relies on it (a rotation commits right after).
    file.sync_all()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all())?;
    }
    tracing::info!(path = %path.display(), "created {what}");
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let first = ServerSecrets::load_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = ServerSecrets::load_or_create(&path).unwrap();
        let sealed = first.seal_totp(b"twenty bytes secret!").unwrap();
        assert_eq!(again.open_totp(&sealed).unwrap().as_slice(), b"twenty bytes secret!");
    }

    #[test]
    fn sealed_secrets_hide_the_plaintext_and_need_the_same_file() {
        let secrets = ServerSecrets::from_master(&[1; 32]);
        let sealed = secrets.seal_totp(b"twenty bytes secret!").unwrap();
        assert!(ServerSecrets::is_sealed(&sealed));
        assert!(!sealed.windows(20).any(|w| w == b"twenty bytes secret!"));
        assert_ne!(sealed, secrets.seal_totp(b"twenty bytes secret!").unwrap(), "a fresh nonce each time");
        assert!(ServerSecrets::from_master(&[2; 32]).open_totp(&sealed).is_err(), "another server secret");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(secrets.open_totp(&tampered).is_err());
        assert!(!ServerSecrets::is_sealed(b"twenty bytes secret!"));
    }

    #[test]
    fn a_short_or_wrong_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, b"short").unwrap();
        assert!(ServerSecrets::load_or_create(&path).is_err());
    }
}
