//! The installable app's build step: the service worker with this build's precache list and
//! version, then every served file precompressed (brotli and gzip) for the server to send as is.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The worker's source; the build fills in `__VERSION__` and `__PRECACHE__`.
const WORKER: &str = include_str!("../../pwa/sw.js");

/// Files the server sends compressed when the browser accepts it.
const COMPRESSED: &[&str] = &["html", "js", "wasm", "css", "webmanifest", "svg", "json"];

/// Writes `sw.js` into the built app at `dist` (precaching its shell: `index.html`, the hashed
/// files Trunk emitted, the manifest and icons), then precompresses everything servable.
/// Run again after a file changed, it makes a new deployment: a new version, a new worker.
pub fn finish(dist: &Path) -> Result<(), String> {
    let shell = shell_files(dist)?;
    // The version covers every file served, the bundles cached on visit included: any change
    // is a new worker, whose activation drops the old caches.
    let mut served: Vec<PathBuf> = walk(dist)?
        .into_iter()
        .filter_map(|p| p.strip_prefix(dist).ok().map(PathBuf::from))
        .filter(|p| {
            let name = p.to_string_lossy();
            !(name == "sw.js" || name.ends_with(".br") || name.ends_with(".gz") || name.contains(".stage"))
        })
        .collect();
    served.sort();
    let mut hash = Sha256::new();
    for file in &served {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update(fs::read(dist.join(file)).map_err(|e| format!("{}: {e}", file.display()))?);
    }
    let version = hex(&hash.finalize()[..8]);
    let urls: Vec<String> = shell.iter().map(|f| format!("\"/{}\"", f.to_string_lossy())).collect();
    let worker = WORKER.replace("__VERSION__", &version).replace("__PRECACHE__", &format!("[{}]", urls.join(", ")));
    fs::write(dist.join("sw.js"), worker).map_err(|e| format!("sw.js: {e}"))?;
    precompress(dist)
}

/// The app shell, relative to `dist`, sorted: the top-level files and the wasm-bindgen
/// snippets; not the separately loaded bundles (`admin/`, `recover/`, `demo/`), the worker
/// itself, compressed copies or the manifest's screenshots.
pub fn shell_files(dist: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in walk(dist)? {
        let relative = path.strip_prefix(dist).map_err(|e| e.to_string())?.to_path_buf();
        let top_level = relative.components().count() == 1;
        let snippet = relative.starts_with("snippets");
        let name = relative.to_string_lossy();
        let compressed = name.ends_with(".br") || name.ends_with(".gz");
        if (top_level || snippet) && !compressed && name != "sw.js" {
            files.push(relative);
        }
    }
    files.sort();
    Ok(files)
}

/// What a first visit downloads, as the server sends it: each shell file and the worker,
/// brotli-compressed where the build made a compressed copy. Prints each file.
pub fn first_load_bytes(dist: &Path) -> Result<u64, String> {
    let mut total = 0;
    let mut files = shell_files(dist)?;
    files.push(PathBuf::from("sw.js"));
    for file in files {
        let raw = dist.join(&file);
        let brotli = PathBuf::from(format!("{}.br", raw.display()));
        let sent = fs::metadata(if brotli.exists() { &brotli } else { &raw }).map_err(|e| e.to_string())?.len();
        println!("first load {:<44} {sent:>8} B", file.display());
        total += sent;
    }
    Ok(total)
}

fn precompress(dist: &Path) -> Result<(), String> {
    for path in walk(dist)? {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !COMPRESSED.contains(&ext) {
            continue;
        }
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
        brotli::BrotliCompress(&mut bytes.as_slice(), &mut br, &params).map_err(|e| e.to_string())?;
        fs::write(format!("{}.br", path.display()), br).map_err(|e| e.to_string())?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).map_err(|e| e.to_string())?;
        fs::write(format!("{}.gz", path.display()), gz.finish().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Every file under `dir`, compressed copies included.
fn walk(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    Ok(files)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
