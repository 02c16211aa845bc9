//! The key's flash: the vault, encrypted with AES-256-GCM under a storage key that never
//! leaves the key (on hardware, a secure element; here, a separate secret). Every write is
//! atomic: the new ciphertext replaces the old whole, or not at all.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use latchkey_protocol::device::{StorageError, Vault};
use zeroize::Zeroizing;

const AAD: &[u8] = b"latchkey-keysim-vault-v1";

/// Encrypts and decrypts vault snapshots. A fresh nonce per write comes from the caller.
pub struct Sealer {
    key: Zeroizing<[u8; 32]>,
}

impl Sealer {
    pub fn new(storage_key: [u8; 32]) -> Sealer {
        Sealer { key: Zeroizing::new(storage_key) }
    }

    pub fn seal(&self, vault: &Vault, nonce: [u8; 12]) -> Result<Vec<u8>, StorageError> {
        let plain = Zeroizing::new(postcard::to_allocvec(vault).map_err(|_| StorageError)?);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.as_ref()));
        let mut out = nonce.to_vec();
        out.extend(
            cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: &plain, aad: AAD }).map_err(|_| StorageError)?,
        );
        Ok(out)
    }

    pub fn open(&self, bytes: &[u8]) -> Result<Vault, StorageError> {
        if bytes.len() < 12 {
            return Err(StorageError);
        }
        let (nonce, body) = bytes.split_at(12);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.as_ref()));
        let plain = Zeroizing::new(
            cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: AAD }).map_err(|_| StorageError)?,
        );
        postcard::from_bytes(&plain).map_err(|_| StorageError)
    }
}

/// Where the ciphertext lives.
pub trait Flash {
    fn read(&self) -> Option<Vec<u8>>;
    /// Replaces the contents atomically.
    fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError>;
}

/// Flash in memory; `fail_after` simulates power loss: the write that would be number
/// `fail_after + 1` does not happen, nor does any later one.
#[derive(Clone, Debug, Default)]
pub struct MemoryFlash {
    pub contents: Option<Vec<u8>>,
    pub writes: usize,
    pub fail_after: Option<usize>,
}

impl Flash for MemoryFlash {
    fn read(&self) -> Option<Vec<u8>> {
        self.contents.clone()
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        if self.fail_after.is_some_and(|n| self.writes >= n) {
            return Err(StorageError);
        }
        self.contents = Some(bytes.to_vec());
        self.writes += 1;
        Ok(())
    }
}

/// Flash in a file: written to a temporary file, synced, then renamed over the old one.
pub struct FileFlash {
    path: PathBuf,
}

impl FileFlash {
    pub fn new(path: &Path) -> FileFlash {
        FileFlash { path: path.to_path_buf() }
    }
}

impl Flash for FileFlash {
    fn read(&self) -> Option<Vec<u8>> {
        std::fs::read(&self.path).ok()
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        use std::io::Write;
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp).map_err(|_| StorageError)?;
        file.write_all(bytes).and_then(|_| file.sync_all()).map_err(|_| StorageError)?;
        std::fs::rename(&tmp, &self.path).map_err(|_| StorageError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_vault_opens_only_with_its_key_and_untouched() {
        let vault = Vault::manufacture("K1", "sim-1", [1; 32], "12345678", 8);
        let sealer = Sealer::new([9; 32]);
        let mut bytes = sealer.seal(&vault, [0; 12]).unwrap();
        assert_eq!(sealer.open(&bytes).unwrap(), vault);
        assert!(Sealer::new([8; 32]).open(&bytes).is_err());
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(sealer.open(&bytes).is_err());
    }

    #[test]
    fn ciphertext_does_not_show_the_secrets() {
        let vault = Vault::manufacture("SERIAL-XYZ", "sim-1", [1; 32], "12345678", 8);
        let bytes = Sealer::new([9; 32]).seal(&vault, [0; 12]).unwrap();
        assert!(!bytes.windows(10).any(|w| w == b"SERIAL-XYZ"));
    }
}
