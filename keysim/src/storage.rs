//! The key's flash: the vault, encrypted with AES-256-GCM under a storage key that never
//! leaves the key (on hardware, a secure element; here, a separate secret).
//!
//! Power may fail in the middle of a write, and a flash write is not atomic: the bank being
//! written can be left holding any part of the new bytes over the old ones. So the flash has two
//! banks, and each write goes to the bank that does *not* hold the current vault, as a record
//! numbered one past the current one. The number is sealed with the vault, so a torn or mixed
//! record does not open. Booting takes the highest-numbered record that opens.
//!
//! The guarantee: once a vault was written, power lost at any moment leaves the flash booting to
//! exactly the vault before the interrupted write or exactly the one after it; never a mix, and
//! never nothing. A write reported as failed may still have happened (old or new, as above).

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use latchkey_protocol::device::{StorageError, Vault};
use zeroize::Zeroizing;

const AAD: &[u8] = b"latchkey-keysim-vault-v2";
/// A record's header: its number (u64) and the sealed part's length (u32), little-endian.
const HEADER: usize = 12;
const NONCE: usize = 12;

/// Seals and opens vault records. A fresh nonce per write comes from the caller.
pub struct Sealer {
    key: Zeroizing<[u8; 32]>,
}

impl Sealer {
    pub fn new(storage_key: [u8; 32]) -> Sealer {
        Sealer { key: Zeroizing::new(storage_key) }
    }

    /// The record of write number `seq`: header, nonce, ciphertext. Its length is in the header,
    /// so bytes after it (what a bank held before) do not matter.
    pub fn seal(&self, vault: &Vault, seq: u64, nonce: [u8; 12]) -> Result<Vec<u8>, StorageError> {
        let plain = Zeroizing::new(postcard::to_allocvec(vault).map_err(|_| StorageError)?);
        let sealed = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: &plain, aad: &aad(seq) })
            .map_err(|_| StorageError)?;
        let len = u32::try_from(NONCE + sealed.len()).map_err(|_| StorageError)?;
        let mut out = Vec::with_capacity(HEADER + NONCE + sealed.len());
        out.extend(seq.to_le_bytes());
        out.extend(len.to_le_bytes());
        out.extend(nonce);
        out.extend(sealed);
        Ok(out)
    }

    /// A record's number and vault, when it is whole, untouched and sealed under this key.
    pub fn open(&self, record: &[u8]) -> Result<(u64, Vault), StorageError> {
        let (header, rest) = record.split_first_chunk::<HEADER>().ok_or(StorageError)?;
        let (seq, len) = header.split_at(8);
        let seq = u64::from_le_bytes(seq.try_into().map_err(|_| StorageError)?);
        let len = u32::from_le_bytes(len.try_into().map_err(|_| StorageError)?) as usize;
        let body = rest.get(..len).ok_or(StorageError)?;
        let (nonce, sealed) = body.split_at_checked(NONCE).ok_or(StorageError)?;
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: &aad(seq) })
                .map_err(|_| StorageError)?,
        );
        Ok((seq, postcard::from_bytes(&plain).map_err(|_| StorageError)?))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.as_ref()))
    }
}

/// The record's number is authenticated: an old record cannot pass for a newer one.
fn aad(seq: u64) -> Vec<u8> {
    [AAD, &seq.to_le_bytes()].concat()
}

/// One of the flash's two banks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bank {
    A,
    B,
}

impl Bank {
    pub fn other(self) -> Bank {
        match self {
            Bank::A => Bank::B,
            Bank::B => Bank::A,
        }
    }
}

/// Where the records live.
pub trait Flash {
    /// What `bank` holds; `None` when it was never written.
    fn read(&self, bank: Bank) -> Option<Vec<u8>>;
    /// Writes `bytes` at the start of `bank`. Power lost meanwhile may leave `bank` holding any
    /// mix of old and new bytes; the other bank is never touched.
    fn write(&mut self, bank: Bank, bytes: &[u8]) -> Result<(), StorageError>;
}

/// The vault on a flash: the newest record that opens is the current one.
pub struct Store<F: Flash> {
    flash: F,
    sealer: Sealer,
    /// The current record's number and bank.
    current: Option<(u64, Bank)>,
}

impl<F: Flash> Store<F> {
    /// Reads both banks; the vault is `None` when no record opens.
    pub fn load(flash: F, sealer: Sealer) -> (Store<F>, Option<Vault>) {
        let mut newest: Option<(u64, Bank, Vault)> = None;
        for bank in [Bank::A, Bank::B] {
            let Some(Ok((seq, vault))) = flash.read(bank).map(|r| sealer.open(&r)) else { continue };
            if newest.as_ref().is_none_or(|(n, ..)| seq > *n) {
                newest = Some((seq, bank, vault));
            }
        }
        let current = newest.as_ref().map(|(seq, bank, _)| (*seq, *bank));
        (Store { flash, sealer, current }, newest.map(|(.., vault)| vault))
    }

    /// Writes `vault` to the bank not holding the current record, so that one survives any
    /// failure of this write.
    pub fn save(&mut self, vault: &Vault, nonce: [u8; 12]) -> Result<(), StorageError> {
        let (seq, bank) = match self.current {
            Some((seq, bank)) => (seq.checked_add(1).ok_or(StorageError)?, bank.other()),
            None => (1, Bank::A),
        };
        let record = self.sealer.seal(vault, seq, nonce)?;
        self.flash.write(bank, &record)?;
        self.current = Some((seq, bank));
        Ok(())
    }

    pub fn flash(&self) -> &F {
        &self.flash
    }

    /// The store still writes next to the bank it would have: a flash put in place of this one
    /// must hold the same current record.
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    pub fn into_flash(self) -> F {
        self.flash
    }
}

/// Both banks in one byte string, for media that replace it whole (memory, a file): bank A's
/// length (u32, little-endian), bank A, then bank B.
fn bank_in(image: &[u8], bank: Bank) -> Option<Vec<u8>> {
    let (len, rest) = image.split_first_chunk::<4>()?;
    let (a, b) = rest.split_at_checked(u32::from_le_bytes(*len) as usize)?;
    let found = match bank {
        Bank::A => a,
        Bank::B => b,
    };
    (!found.is_empty()).then(|| found.to_vec())
}

/// `image` with `bank` replaced by `bytes`.
fn with_bank(image: Option<&[u8]>, bank: Bank, bytes: &[u8]) -> Result<Vec<u8>, StorageError> {
    let kept = image.and_then(|i| bank_in(i, bank.other())).unwrap_or_default();
    let (a, b) = match bank {
        Bank::A => (bytes, kept.as_slice()),
        Bank::B => (kept.as_slice(), bytes),
    };
    let len = u32::try_from(a.len()).map_err(|_| StorageError)?;
    Ok([&len.to_le_bytes()[..], a, b].concat())
}

/// Flash in memory: `contents` is the image, replaced whole, so a write is never torn.
/// `fail_after` simulates power loss: the write that would be number `fail_after + 1` does not
/// happen, nor does any later one.
#[derive(Clone, Debug, Default)]
pub struct MemoryFlash {
    pub contents: Option<Vec<u8>>,
    pub writes: usize,
    pub fail_after: Option<usize>,
}

impl Flash for MemoryFlash {
    fn read(&self, bank: Bank) -> Option<Vec<u8>> {
        bank_in(self.contents.as_deref()?, bank)
    }

    fn write(&mut self, bank: Bank, bytes: &[u8]) -> Result<(), StorageError> {
        if self.fail_after.is_some_and(|n| self.writes >= n) {
            return Err(StorageError);
        }
        self.contents = Some(with_bank(self.contents.as_deref(), bank, bytes)?);
        self.writes += 1;
        Ok(())
    }
}

/// Flash in a file holding the image: each write makes the new image in a temporary file beside
/// it, syncs it, renames it over the old one and syncs the directory. A crash leaves the file
/// whole, old or new (rename is atomic), and the directory sync makes a reported write durable.
pub struct FileFlash {
    path: PathBuf,
}

impl FileFlash {
    pub fn new(path: &Path) -> FileFlash {
        FileFlash { path: path.to_path_buf() }
    }

    /// Where a write in progress goes: the file's name with `.tmp` appended.
    pub fn temp_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".tmp");
        PathBuf::from(name)
    }

    fn image(&self) -> Result<Option<Vec<u8>>, StorageError> {
        match std::fs::read(&self.path) {
            Ok(image) => Ok(Some(image)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            // Unreadable is not empty: writing now could drop the other bank.
            Err(_) => Err(StorageError),
        }
    }
}

impl Flash for FileFlash {
    fn read(&self, bank: Bank) -> Option<Vec<u8>> {
        bank_in(&self.image().ok()??, bank)
    }

    fn write(&mut self, bank: Bank, bytes: &[u8]) -> Result<(), StorageError> {
        use std::io::Write;
        let image = with_bank(self.image()?.as_deref(), bank, bytes)?;
        let tmp = self.temp_path();
        // `create` truncates a temporary file an earlier crash left behind.
        let mut file = std::fs::File::create(&tmp).map_err(|_| StorageError)?;
        file.write_all(&image).and_then(|_| file.sync_all()).map_err(|_| StorageError)?;
        std::fs::rename(&tmp, &self.path).map_err(|_| StorageError)?;
        sync_dir(&self.path)
    }
}

/// The rename is durable only once the directory holding it is synced.
#[cfg(unix)]
fn sync_dir(path: &Path) -> Result<(), StorageError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|_| StorageError)
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> Result<(), StorageError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::manufacture("K1", "sim-1", [1; 32], "12345678", 8)
    }

    #[test]
    fn sealed_vault_opens_only_with_its_key_and_untouched() {
        let sealer = Sealer::new([9; 32]);
        let mut bytes = sealer.seal(&vault(), 5, [0; 12]).unwrap();
        assert_eq!(sealer.open(&bytes).unwrap(), (5, vault()));
        assert!(Sealer::new([8; 32]).open(&bytes).is_err());
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(sealer.open(&bytes).is_err());
    }

    #[test]
    fn a_record_number_cannot_be_changed() {
        let sealer = Sealer::new([9; 32]);
        let mut bytes = sealer.seal(&vault(), 5, [0; 12]).unwrap();
        assert!(sealer.open(&bytes).is_ok());
        bytes[0] = 6;
        assert!(sealer.open(&bytes).is_err());
    }

    #[test]
    fn a_record_opens_whole_only_and_ignores_what_follows_it() {
        let sealer = Sealer::new([9; 32]);
        let bytes = sealer.seal(&vault(), 1, [0; 12]).unwrap();
        for cut in 0..bytes.len() {
            assert!(sealer.open(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let followed = [&bytes[..], &[0xff; 40]].concat();
        assert_eq!(sealer.open(&followed).unwrap(), (1, vault()));
    }

    #[test]
    fn ciphertext_does_not_show_the_secrets() {
        let vault = Vault::manufacture("SERIAL-XYZ", "sim-1", [1; 32], "12345678", 8);
        let bytes = Sealer::new([9; 32]).seal(&vault, 1, [0; 12]).unwrap();
        assert!(!bytes.windows(10).any(|w| w == b"SERIAL-XYZ"));
    }

    #[test]
    fn an_image_keeps_each_bank_apart() {
        let mut flash = MemoryFlash::default();
        assert_eq!((flash.read(Bank::A), flash.read(Bank::B)), (None, None));
        flash.write(Bank::B, b"bee").unwrap();
        flash.write(Bank::A, b"first").unwrap();
        flash.write(Bank::A, b"a").unwrap();
        assert_eq!((flash.read(Bank::A), flash.read(Bank::B)), (Some(b"a".to_vec()), Some(b"bee".to_vec())));
        flash.contents = Some(vec![9, 0, 0, 0, 1]);
        assert_eq!((flash.read(Bank::A), flash.read(Bank::B)), (None, None), "a damaged image holds nothing");
    }

    #[test]
    fn the_store_alternates_banks_and_loads_the_newest() {
        let (mut store, found) = Store::load(MemoryFlash::default(), Sealer::new([9; 32]));
        assert!(found.is_none());
        let mut newer = vault();
        newer.wrong_codes = 2;
        store.save(&vault(), [1; 12]).unwrap();
        store.save(&newer, [2; 12]).unwrap();
        let flash = store.into_flash();
        let sealer = Sealer::new([9; 32]);
        assert_eq!(sealer.open(&flash.read(Bank::A).unwrap()).unwrap(), (1, vault()));
        assert_eq!(sealer.open(&flash.read(Bank::B).unwrap()).unwrap(), (2, newer.clone()));
        let (_, found) = Store::load(flash, sealer);
        assert_eq!(found, Some(newer));
    }
}
