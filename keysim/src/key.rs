use latchkey_protocol::crypto::Seed;
use latchkey_protocol::device::{Device, Platform, StorageError, Vault};
use latchkey_protocol::gatt;
use latchkey_protocol::link::{Chunker, Reassembler};
use latchkey_protocol::message;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::storage::{Flash, MemoryFlash, Sealer, Store};
use crate::Presence;

pub const FIRMWARE: &str = concat!("keysim-", env!("CARGO_PKG_VERSION"));
const SLOTS: u16 = 16;

/// What the vendor's manifest records for a new key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manufactured {
    pub serial: String,
    pub public_key: [u8; 32],
    pub activation_code: String,
}

struct SimPlatform<F: Flash> {
    store: Store<F>,
    rng: ChaCha20Rng,
    presence: Presence,
}

impl<F: Flash> Platform for SimPlatform<F> {
    fn seed(&mut self) -> Seed {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        seed
    }

    fn confirm_presence(&mut self) -> bool {
        self.presence.answer()
    }

    fn persist(&mut self, vault: &Vault) -> Result<(), StorageError> {
        let mut nonce = [0u8; 12];
        self.rng.fill_bytes(&mut nonce);
        self.store.save(vault, nonce)
    }
}

/// A key: firmware, flash, button, and the BLE link's chunking.
pub struct SimKey<F: Flash = MemoryFlash> {
    device: Device,
    platform: SimPlatform<F>,
    chunker: Chunker,
    reassembler: Reassembler,
    chunk_size: usize,
}

impl<F: Flash> SimKey<F> {
    /// Makes a new key: identity key pair and activation code from `seed`, written to `flash`.
    pub fn manufacture(
        serial: &str,
        seed: Seed,
        flash: F,
        storage_key: [u8; 32],
    ) -> Result<(Self, Manufactured), StorageError> {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut identity = [0u8; 32];
        rng.fill_bytes(&mut identity);
        let activation_code = format!("{:08}", rng.next_u32() % 100_000_000);
        let vault = Vault::manufacture(serial, FIRMWARE, identity, &activation_code, SLOTS);
        // Numbered after anything the flash already holds under this storage key, so the new
        // vault is the one that boots.
        let (store, _) = Store::load(flash, Sealer::new(storage_key));
        let mut platform = SimPlatform { store, rng, presence: Presence::AlwaysConfirm };
        platform.persist(&vault)?;
        let made = Manufactured { serial: serial.into(), public_key: vault.public_key(), activation_code };
        Ok((Self::with(Device::new(vault), platform), made))
    }

    /// Powers a key on from its flash.
    pub fn boot(flash: F, storage_key: [u8; 32], seed: Seed) -> Result<Self, StorageError> {
        let (store, vault) = Store::load(flash, Sealer::new(storage_key));
        let vault = vault.ok_or(StorageError)?;
        let platform = SimPlatform { store, rng: ChaCha20Rng::from_seed(seed), presence: Presence::AlwaysConfirm };
        Ok(Self::with(Device::new(vault), platform))
    }

    fn with(device: Device, platform: SimPlatform<F>) -> Self {
        SimKey {
            device,
            platform,
            chunker: Chunker::default(),
            reassembler: Reassembler::default(),
            chunk_size: gatt::chunk_size(23),
        }
    }

    /// Loses power and boots again from what the flash holds.
    pub fn power_cycle(self, storage_key: [u8; 32], seed: Seed) -> Result<Self, StorageError> {
        Self::boot(self.platform.store.into_flash(), storage_key, seed)
    }

    pub fn set_presence(&mut self, presence: Presence) {
        self.platform.presence = presence;
    }

    pub fn set_att_mtu(&mut self, att_mtu: u16) {
        self.chunk_size = gatt::chunk_size(att_mtu);
    }

    pub fn vault(&self) -> &Vault {
        self.device.vault()
    }

    pub fn flash(&self) -> &F {
        self.platform.store.flash()
    }

    /// The key still writes next to the bank it would have: see [`Store::flash_mut`].
    pub fn flash_mut(&mut self) -> &mut F {
        self.platform.store.flash_mut()
    }

    /// The info characteristic's value.
    pub fn beacon(&self) -> Vec<u8> {
        message::encode(&self.device.beacon())
    }

    /// A write to the host → key characteristic; returns the notifications to send.
    /// A chunk the link layer rejects loses its frame: the host's timeout handles it.
    pub fn on_write(&mut self, chunk: &[u8], now_ms: u64) -> Vec<Vec<u8>> {
        match self.reassembler.push(chunk, now_ms) {
            Ok(Some(frame)) => self.on_frame(&frame).map(|f| self.split(&f)).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// A whole frame (bypassing chunking); returns the reply frame.
    pub fn on_frame(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        self.device.on_frame(frame, &mut self.platform)
    }

    pub fn split(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        self.chunker.split(frame, self.chunk_size).unwrap_or_default()
    }

    /// The owner's reset (a long press on real hardware).
    pub fn factory_reset(&mut self) -> Result<(), StorageError> {
        self.device.factory_reset(&mut self.platform)
    }

    /// The BLE link dropped.
    pub fn disconnect(&mut self) {
        self.device.disconnect();
        self.reassembler = Reassembler::default();
    }
}
