//! A TCP relay between the server and the DC that a test can cut: the DC becomes unreachable
//! for this server alone (other tests share the DC) at the moment the test chooses, and comes
//! back when the test restores it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct DcProxy {
    /// `ldaps://127.0.0.1:<port>`: the DC's certificate names 127.0.0.1, so it verifies.
    pub url: String,
    open: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    cuts: Arc<AtomicU64>,
    /// While true, nothing passes either way and nothing is closed: a DC that stopped answering.
    frozen: watch::Sender<bool>,
    /// Connections the server opened through the relay.
    accepted: Arc<AtomicU64>,
}

impl DcProxy {
    /// Relays to the DC at `dc_url` (`ldaps://host:port` or `ldaps://host`).
    pub async fn start(dc_url: &str) -> DcProxy {
        let target = dc_url.trim_start_matches("ldaps://").trim_start_matches("ldap://").to_string();
        let target = if target.contains(':') { target } else { format!("{target}:636") };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port for the DC relay");
        let port = listener.local_addr().expect("its address").port();
        let open = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (frozen, _) = watch::channel(false);
        let proxy = DcProxy {
            url: format!("ldaps://127.0.0.1:{port}"),
            open: open.clone(),
            cut,
            cuts: Arc::default(),
            frozen,
            accepted: Arc::default(),
        };
        let (cut, frozen, accepted) = (proxy.cut.clone(), proxy.frozen.clone(), proxy.accepted.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                if !open.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut cut = cut.subscribe();
                let mut still = frozen.subscribe();
                tokio::spawn(async move {
                    // A connection made while frozen is held unanswered, then dropped.
                    if *still.borrow() {
                        until(&mut still, false).await;
                        return;
                    }
                    let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                        _ = until(&mut still, true) => until(&mut still, false).await,
                    }
                });
            }
        });
        proxy
    }

    /// How many connections the server has opened to the DC through the relay.
    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The DC is gone: open connections drop, new ones are closed at once.
    pub fn cut(&self) {
        (self.cutter())()
    }

    /// The DC is back.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
        let _ = self.frozen.send(false);
    }

    /// The DC stops answering without closing anything (a dropped route, a hung server).
    pub fn freeze(&self) {
        let _ = self.frozen.send(true);
    }

    /// A handle a relay page's hook can hold.
    pub fn cutter(&self) -> impl Fn() + Send + Sync + 'static {
        let open = self.open.clone();
        let cut = self.cut.clone();
        let cuts = self.cuts.clone();
        move || {
            open.store(false, Ordering::SeqCst);
            let n = cuts.fetch_add(1, Ordering::SeqCst) + 1;
            let _ = cut.send(n);
        }
    }
}

/// Waits until the frozen flag is `wanted` (or the proxy is gone).
async fn until(flag: &mut watch::Receiver<bool>, wanted: bool) {
    while *flag.borrow_and_update() != wanted {
        if flag.changed().await.is_err() {
            return;
        }
    }
}
