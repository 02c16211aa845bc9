use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use keysim::storage::FileFlash;
use keysim::SimKey;

#[derive(Parser)]
#[command(name = "keysim", about = "Latchkey's reference key, in software")]
struct Cli {
    /// The key's flash (ciphertext); its storage key lives beside it in `<FILE>.sek`.
    #[arg(long, short)]
    file: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manufactures a key; prints what the vendor's manifest records.
    Create {
        #[arg(long)]
        serial: String,
    },
    /// The key's metadata: status, accounts (never passwords).
    Show,
    /// The owner's factory reset: accounts, binding and failed activation tries are erased.
    Reset,
    /// Runs the firmware: each input line `w <hex chunk>` is a write; each output line
    /// `n <hex chunk>` a notification. `d` alone is a disconnect; `b` prints the beacon.
    Run,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keysim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let key_file = cli.file.with_extension("sek");
    match cli.command {
        Command::Create { serial } => {
            if cli.file.exists() {
                return Err(format!("{} exists: a key is made only once", cli.file.display()));
            }
            let storage_key = random32()?;
            write_private(&key_file, &storage_key)?;
            let (_, made) = SimKey::manufacture(&serial, random32()?, FileFlash::new(&cli.file), storage_key)
                .map_err(|_| "cannot write the key's flash".to_string())?;
            println!("serial={}", made.serial);
            println!("public_key={}", hex::encode(made.public_key));
            println!("activation_code={}", made.activation_code);
            Ok(())
        }
        Command::Show => {
            let key = boot(&cli.file, &key_file)?;
            let v = key.vault();
            println!("serial={} firmware={} status={:?}", v.serial, v.firmware, v.status);
            println!("public_key={}", hex::encode(v.public_key()));
            println!("activated={} wrong_codes={}", v.bound_server.is_some(), v.wrong_codes);
            for a in &v.accounts {
                println!(
                    "account id={} name={:?} type={:?} domain={:?} login={:?} directory_managed={} password={} staged={}",
                    a.account.id,
                    a.account.name,
                    a.account.login_type,
                    a.account.domain,
                    a.account.login,
                    a.account.directory_managed,
                    a.current.is_some(),
                    a.staged.is_some()
                );
            }
            Ok(())
        }
        Command::Reset => {
            let mut key = boot(&cli.file, &key_file)?;
            key.factory_reset().map_err(|_| "cannot write the key's flash".to_string())?;
            println!("serial={} status={:?}", key.vault().serial, key.vault().status);
            Ok(())
        }
        Command::Run => {
            let mut key = boot(&cli.file, &key_file)?;
            let start = Instant::now();
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for line in std::io::stdin().lock().lines() {
                let line = line.map_err(|e| e.to_string())?;
                let reply: Vec<Vec<u8>> = match line.split_once(' ') {
                    Some(("w", data)) => key.on_write(
                        &hex::decode(data.trim()).map_err(|e| format!("bad hex: {e}"))?,
                        start.elapsed().as_millis() as u64,
                    ),
                    _ if line == "d" => {
                        key.disconnect();
                        vec![]
                    }
                    _ if line == "b" => {
                        writeln!(out, "b {}", hex::encode(key.beacon())).map_err(|e| e.to_string())?;
                        vec![]
                    }
                    _ => return Err(format!("unknown input line: {line}")),
                };
                for chunk in reply {
                    writeln!(out, "n {}", hex::encode(&chunk)).map_err(|e| e.to_string())?;
                }
                out.flush().map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    }
}

fn boot(file: &Path, key_file: &Path) -> Result<SimKey<FileFlash>, String> {
    let storage_key: [u8; 32] = std::fs::read(key_file)
        .map_err(|e| format!("cannot read {}: {e}", key_file.display()))?
        .try_into()
        .map_err(|_| format!("{} is not a storage key", key_file.display()))?;
    SimKey::boot(FileFlash::new(file), storage_key, random32()?)
        .map_err(|_| format!("{} does not open with its storage key", file.display()))
}

fn random32() -> Result<[u8; 32], String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| format!("no randomness: {e}"))?;
    Ok(b)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(bytes).map_err(|e| e.to_string())
}
