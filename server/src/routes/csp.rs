//! The Content-Security-Policy: scripts only from the portal itself, plus the inline loaders
//! the build writes into the pages, allowed by their SHA-256 (read from the built pages at
//! start), never by `'unsafe-inline'`.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The policy for the SPA in `spa_dir` (its `index.html`, `admin/index.html` and
/// `recover/index.html`).
pub fn policy(spa_dir: &Path) -> String {
    let mut hashes: Vec<String> = ["index.html", "admin/index.html", "recover/index.html"]
        .iter()
        .filter_map(|page| std::fs::read_to_string(spa_dir.join(page)).ok())
        .flat_map(|html| {
            inline_scripts(&html)
                .into_iter()
                .map(|script| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(script.as_bytes()))))
                .collect::<Vec<_>>()
        })
        .collect();
    hashes.sort();
    hashes.dedup();
    let scripts = std::iter::once("'self' 'wasm-unsafe-eval'".to_string()).chain(hashes).collect::<Vec<_>>().join(" ");
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
}

/// The bodies of `<script>` elements without `src`, exactly as written.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else { break };
        let tag = &after[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = after[body_start..].find("</script>") else { break };
        if !tag.contains(" src=") {
            found.push(&after[body_start..body_start + close]);
        }
        rest = &after[body_start + close..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_loaders_are_allowed_by_hash_and_nothing_else_inline() {
        let dir = tempfile::tempdir().unwrap();
        let loader = "\nimport init from '/app-1234.js';\ninit('/app-1234_bg.wasm');\n";
        let page = format!(
            "<html><head><script type=\"module\">{loader}</script><script src=\"/x.js\"></script></head></html>"
        );
        std::fs::write(dir.path().join("index.html"), page).unwrap();
        let csp = policy(dir.path());
        let hash = STANDARD.encode(Sha256::digest(loader.as_bytes()));
        let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        assert!(script_src.contains(&format!("'sha256-{hash}'")), "{csp}");
        assert!(!script_src.contains("unsafe-inline"), "{csp}");
        assert_eq!(script_src.matches("sha256-").count(), 1, "the external script needs no hash");
        // No built pages: scripts from the portal only.
        let empty = tempfile::tempdir().unwrap();
        assert!(!policy(empty.path()).contains("sha256-"));
    }
}
