//! Power lost in the middle of a write: on a flash that tears, at every byte of every write the
//! key makes, and on a file flash, in every state a crash can leave on disk. After it, the key
//! boots to exactly the vault before the interrupted write or exactly the one after it.

use std::path::{Path, PathBuf};

use keysim::link::Link;
use keysim::storage::{Bank, FileFlash, Flash};
use keysim::{Manufactured, SimKey};
use latchkey_protocol::crypto::KeyPair;
use latchkey_protocol::device::StorageError;
use latchkey_protocol::message::{Account, Command, KeyError, KeyStatus, LoginType, Reply, Secret, StatusChange};
use latchkey_protocol::sealed;

const STORAGE_KEY: [u8; 32] = [7; 32];
const SERIAL: &str = "LK-POWER-1";

/// What a torn write leaves after the last byte it wrote.
#[derive(Clone, Copy, Debug)]
enum Tear {
    /// The bank is written in place: its old bytes.
    OverOld,
    /// The bank is erased first, as NOR flash is: 0xFF.
    OverErased,
}

/// Flash that loses power once it has written a budget of bytes: the write in progress stops
/// there and no later write happens. A write goes in place from the start of its bank.
#[derive(Clone, Debug)]
struct TornFlash {
    banks: [Option<Vec<u8>>; 2],
    tear: Tear,
    /// Bytes it can still write; `None`: power never fails.
    power: Option<usize>,
    failed: bool,
}

impl TornFlash {
    fn new(tear: Tear) -> TornFlash {
        TornFlash { banks: [None, None], tear, power: None, failed: false }
    }

    /// The same contents, with power for `bytes` more bytes.
    fn with_power(&self, bytes: usize) -> TornFlash {
        TornFlash { power: Some(bytes), failed: false, ..self.clone() }
    }

    /// The same contents, powered again.
    fn rebooted(&self) -> TornFlash {
        TornFlash { power: None, failed: false, ..self.clone() }
    }
}

fn slot(bank: Bank) -> usize {
    match bank {
        Bank::A => 0,
        Bank::B => 1,
    }
}

impl Flash for TornFlash {
    fn read(&self, bank: Bank) -> Option<Vec<u8>> {
        self.banks[slot(bank)].clone()
    }

    fn write(&mut self, bank: Bank, bytes: &[u8]) -> Result<(), StorageError> {
        if self.failed {
            return Err(StorageError);
        }
        let reach = self.power.map_or(bytes.len(), |left| left.min(bytes.len()));
        self.power = self.power.map(|left| left - reach);
        let old = self.banks[slot(bank)].take().unwrap_or_default();
        let mut now = match self.tear {
            Tear::OverOld => old,
            Tear::OverErased => vec![0xff; old.len().max(bytes.len())],
        };
        if now.len() < reach {
            now.resize(reach, 0xff);
        }
        now[..reach].copy_from_slice(&bytes[..reach]);
        self.banks[slot(bank)] = Some(now);
        if reach < bytes.len() {
            self.failed = true;
            return Err(StorageError);
        }
        Ok(())
    }
}

fn server() -> KeyPair {
    KeyPair::from_seed([42; 32])
}

fn account(id: u16) -> Account {
    Account {
        id,
        name: format!("Account {id}"),
        login_type: LoginType::DomainAccount,
        domain: "EXAMPLE".into(),
        login: "jdoe".into(),
        directory_managed: true,
    }
}

fn boot<F: Flash>(flash: F) -> Result<SimKey<F>, StorageError> {
    SimKey::boot(flash, STORAGE_KEY, [9; 32])
}

/// Something the key persists: a request from the server, or the owner's reset on the key.
enum Step {
    Call(Vec<Command>),
    FactoryReset,
}

impl Step {
    fn run<F: Flash>(&self, link: &mut Link<F>) -> Vec<Result<Reply, KeyError>> {
        match self {
            Step::Call(commands) => link.call(commands.clone()).unwrap().results,
            Step::FactoryReset => {
                vec![link.key.factory_reset().map(|()| Reply::Done).map_err(|_| KeyError::StorageFailure)]
            }
        }
    }
}

/// A key's whole life, each step persisting a change.
fn life(made: &Manufactured) -> Vec<(&'static str, Step)> {
    let code = || Command::Activate { code: made.activation_code.clone() };
    let password = |id, p: &str| Command::SetPassword { id, password: Secret::new(p) };
    let status = |change| Step::Call(vec![Command::ApplyStatus { change }]);
    let sealed = sealed::seal(&made.public_key, SERIAL, 1, 1, &Secret::new("Admin-Reset-77"), [8; 32]).unwrap();
    vec![
        ("a wrong activation code", Step::Call(vec![Command::Activate { code: "00000000".into() }])),
        ("activation", Step::Call(vec![code()])),
        ("a new account", Step::Call(vec![Command::PutAccount { account: account(1) }])),
        ("storing a password", Step::Call(vec![password(1, "Old-Pass-1")])),
        ("staging", Step::Call(vec![Command::Stage { id: 1, password: Secret::new("New-Pass-2") }])),
        ("commit", Step::Call(vec![Command::Commit { id: 1 }])),
        ("staging again", Step::Call(vec![Command::Stage { id: 1, password: Secret::new("Third-Pass-3") }])),
        ("abort", Step::Call(vec![Command::Abort { id: 1 }])),
        ("a sealed delivery", Step::Call(vec![Command::DeliverSealed { id: 1, counter: 1, sealed }])),
        (
            "an account and its password in one request",
            Step::Call(vec![Command::PutAccount { account: account(2) }, password(2, "Second-Pass-5")]),
        ),
        ("deleting an account", Step::Call(vec![Command::DeleteAccount { id: 2 }])),
        ("lock", status(StatusChange::Lock)),
        ("unlock", status(StatusChange::Unlock)),
        ("wipe", Step::Call(vec![Command::Wipe])),
        ("activation after a wipe", Step::Call(vec![code()])),
        ("deactivation", status(StatusChange::Deactivate)),
        ("factory reset", Step::FactoryReset),
    ]
}

/// Runs `step` with power for 0, 1, 2, … bytes until it completes. After each cut the key boots
/// from what the flash holds: it must hold exactly the vault the key last acknowledged (for a
/// one-write step, the vault before it), and the next write, over the torn bank, must hold.
/// Returns the number of cuts.
fn cut_everywhere(link: &mut Link<TornFlash>, name: &str, step: &Step) -> usize {
    let before_flash = link.key.flash().rebooted();
    let before = link.key.vault().clone();
    for cut in 0.. {
        *link.key.flash_mut() = before_flash.with_power(cut);
        let results = step.run(link);
        let flash = link.key.flash().rebooted();
        if !link.key.flash().failed {
            assert!(!results.contains(&Err(KeyError::StorageFailure)), "{name}: {results:?}");
            assert_ne!(link.key.vault(), &before, "{name} changes the vault");
            assert_eq!(boot(flash.clone()).unwrap().vault(), link.key.vault(), "{name}, whole");
            *link.key.flash_mut() = flash;
            return cut;
        }
        assert_eq!(results.last(), Some(&Err(KeyError::StorageFailure)), "{name}, cut after {cut} bytes");
        let mut rebooted = boot(flash).unwrap_or_else(|_| panic!("{name}, cut after {cut} bytes: no vault"));
        assert_eq!(rebooted.vault(), link.key.vault(), "{name}, cut after {cut} bytes");
        if matches!(step, Step::Call(c) if c.len() == 1) {
            assert_eq!(rebooted.vault(), &before, "{name}, cut after {cut} bytes");
        }
        rebooted.factory_reset().unwrap();
        let reset = rebooted.vault().clone();
        assert_eq!(boot(rebooted.flash().rebooted()).unwrap().vault(), &reset, "{name}, written after the cut");
        if link.key.vault() != &before {
            // An earlier write of the step held: start it again from the vault before it.
            link.disconnect();
            link.key = boot(before_flash.clone()).unwrap();
            link.connect(&server(), [5; 32]).unwrap();
        }
    }
    unreachable!()
}

/// The first write (manufacture) cut short leaves no key: booting refuses, cleanly.
fn cut_manufacture(tear: Tear) -> usize {
    let (key, _) = SimKey::manufacture(SERIAL, [1; 32], TornFlash::new(tear), STORAGE_KEY).unwrap();
    let record = key.flash().read(Bank::A).unwrap();
    assert!(key.flash().read(Bank::B).is_none());
    for cut in 0..record.len() {
        let mut flash = TornFlash::new(tear).with_power(cut);
        assert_eq!(flash.write(Bank::A, &record), Err(StorageError));
        assert!(boot(flash.rebooted()).is_err(), "manufacture cut after {cut} bytes");
    }
    let mut flash = TornFlash::new(tear).with_power(record.len());
    flash.write(Bank::A, &record).unwrap();
    assert_eq!(boot(flash).unwrap().vault(), key.vault());
    record.len()
}

/// Every cut point of a key's life on flash that tears with `tear`.
fn cut_a_life(tear: Tear) -> usize {
    let mut cuts = cut_manufacture(tear);
    let (key, made) = SimKey::manufacture(SERIAL, [1; 32], TornFlash::new(tear), STORAGE_KEY).unwrap();
    assert_ne!(made.activation_code, "00000000");
    let mut link = Link::new(key, 20);
    link.connect(&server(), [2; 32]).unwrap();
    for (name, step) in life(&made) {
        let n = cut_everywhere(&mut link, name, &step);
        assert!(n > 0, "{name} writes");
        cuts += n;
    }
    let end = boot(link.key.flash().rebooted()).unwrap();
    assert_eq!(end.vault().status, KeyStatus::Ready);
    assert!(end.vault().accounts.is_empty());
    cuts
}

#[test]
fn power_lost_at_every_byte_written_over_old_bytes_keeps_the_vault_before_or_after() {
    println!("{} cut points, written over old bytes", cut_a_life(Tear::OverOld));
}

#[test]
fn power_lost_at_every_byte_written_over_an_erased_bank_keeps_the_vault_before_or_after() {
    println!("{} cut points, written over an erased bank", cut_a_life(Tear::OverErased));
}

/// A key on `flash`, activated, holding one account with `password`.
fn onboarded<F: Flash>(flash: F, password: &str) -> Link<F> {
    let (key, made) = SimKey::manufacture(SERIAL, [1; 32], flash, STORAGE_KEY).unwrap();
    let mut link = Link::new(key, 20);
    link.connect(&server(), [2; 32]).unwrap();
    let r = link
        .call(vec![
            Command::Activate { code: made.activation_code },
            Command::PutAccount { account: account(1) },
            Command::SetPassword { id: 1, password: Secret::new(password) },
        ])
        .unwrap();
    assert_eq!(r.results, vec![Ok(Reply::Done); 3]);
    link
}

fn set_password<F: Flash>(link: &mut Link<F>, password: &str) {
    let r = link.call(vec![Command::SetPassword { id: 1, password: Secret::new(password) }]).unwrap();
    assert_eq!(r.results, vec![Ok(Reply::Done)]);
}

fn password(key: &SimKey<FileFlash>) -> Option<String> {
    key.vault().accounts[0].current.as_ref().map(|s| s.expose().to_string())
}

fn flash_file(dir: &Path) -> (FileFlash, PathBuf, PathBuf) {
    let path = dir.join("key.flash");
    let flash = FileFlash::new(&path);
    let tmp = flash.temp_path();
    (flash, path, tmp)
}

#[test]
fn file_flash_crash_before_the_rename_keeps_the_old_vault_and_after_it_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let (flash, path, tmp) = flash_file(dir.path());
    let mut link = onboarded(flash, "Old-Pass-1");
    let old_image = std::fs::read(&path).unwrap();
    set_password(&mut link, "New-Pass-2");
    let new_image = std::fs::read(&path).unwrap();
    assert_ne!(new_image, old_image);
    assert!(!tmp.exists(), "the rename took the temporary file");

    // The temporary file written up to any byte, or whole but not renamed: the old vault.
    for cut in 0..=new_image.len() {
        std::fs::write(&path, &old_image).unwrap();
        std::fs::write(&tmp, &new_image[..cut]).unwrap();
        let key = boot(FileFlash::new(&path)).unwrap();
        assert_eq!(password(&key).as_deref(), Some("Old-Pass-1"), "temporary file cut after {cut} bytes");
    }
    // Renamed (before or after the directory sync): the new one.
    std::fs::rename(&tmp, &path).unwrap();
    std::fs::write(&tmp, &new_image[..new_image.len() / 2]).unwrap();
    let key = boot(FileFlash::new(&path)).unwrap();
    assert_eq!(password(&key).as_deref(), Some("New-Pass-2"));
    assert_eq!(key.vault(), link.key.vault());
}

#[test]
fn file_flash_leftover_temporary_file_does_not_confuse_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let (flash, path, tmp) = flash_file(dir.path());
    let link = onboarded(flash, "Old-Pass-1");
    let old_image = std::fs::read(&path).unwrap();
    // An earlier crash left a longer temporary file of other bytes.
    std::fs::write(&tmp, vec![0xab; 3 * old_image.len()]).unwrap();

    let key = link.key.power_cycle(STORAGE_KEY, [3; 32]).unwrap();
    assert_eq!(password(&key).as_deref(), Some("Old-Pass-1"));
    let mut link = Link::new(key, 20);
    link.connect(&server(), [4; 32]).unwrap();
    set_password(&mut link, "New-Pass-2");
    assert!(!tmp.exists(), "the write replaced the leftover and renamed it");
    let key = link.key.power_cycle(STORAGE_KEY, [5; 32]).unwrap();
    assert_eq!(password(&key).as_deref(), Some("New-Pass-2"));
}

#[test]
fn file_flash_without_a_file_holds_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let (flash, path, tmp) = flash_file(dir.path());
    // A crash during manufacture, before the first rename.
    std::fs::write(&tmp, b"partial").unwrap();
    assert!(boot(flash).is_err());
    let (key, _) = SimKey::manufacture(SERIAL, [1; 32], FileFlash::new(&path), STORAGE_KEY).unwrap();
    assert_eq!(boot(FileFlash::new(&path)).unwrap().vault(), key.vault());
}
