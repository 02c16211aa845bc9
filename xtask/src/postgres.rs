//! A throwaway PostgreSQL (Debian's) for the tests: its own cluster in a temporary folder, on a
//! free loopback port, trust authentication, gone when dropped. The server itself never runs as
//! root, so the cluster belongs to the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cmd, Result};

pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

impl Postgres {
    pub fn start() -> Result<Postgres> {
        let bin = bin_dir()?;
        let dir = std::env::temp_dir().join(format!("latchkey-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        cmd::run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        let port = free_port()?;
        let data = dir.join("data");
        cmd::output(
            as_postgres(&bin.join("initdb")).args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"]).arg(&data),
        )?;
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", dir.display());
        cmd::output(
            as_postgres(&bin.join("pg_ctl"))
                .args(["-w", "-l"])
                .arg(dir.join("log"))
                .args(["-o", &options, "-D"])
                .arg(&data)
                .arg("start"),
        )?;
        eprintln!("PostgreSQL ready on 127.0.0.1:{port} ({})", dir.display());
        Ok(Postgres { dir, bin, port })
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .args(["-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn as_postgres(program: &Path) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(program);
    c
}

/// Debian's newest installed PostgreSQL.
fn bin_dir() -> Result<PathBuf> {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("PostgreSQL is not installed (/usr/lib/postgresql: {e})"))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    versions.sort_unstable();
    let version = versions.last().ok_or("no PostgreSQL version under /usr/lib/postgresql")?;
    Ok(PathBuf::from(format!("/usr/lib/postgresql/{version}/bin")))
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
