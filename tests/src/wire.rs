//! A TCP relay between the browser and the server that records what crosses the wire: each
//! HTTP/1.1 request line the browser sends and the bytes the server answers with. What a page
//! load really costs, including what a service worker fetched out of the page's sight.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    bytes_down: u64,
}

pub struct WireTap {
    /// `http://127.0.0.1:<port>`: the address the browser uses.
    pub url: String,
    seen: Arc<Mutex<Seen>>,
}

impl WireTap {
    /// Relays to the server at `target` (`127.0.0.1:port`).
    pub async fn start(target: std::net::SocketAddr) -> WireTap {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port for the tap");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let seen = shared.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else { return };
                    relay(inbound, outbound, seen).await;
                });
            }
        });
        WireTap { url, seen }
    }

    /// The request lines (`GET /path`) and the bytes sent down since the last call; starts anew.
    pub fn take(&self) -> (Vec<String>, u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let taken = std::mem::take(&mut *seen);
        (taken.requests, taken.bytes_down)
    }
}

async fn relay(inbound: TcpStream, outbound: TcpStream, seen: Arc<Mutex<Seen>>) {
    let (mut from_browser, mut to_browser) = inbound.into_split();
    let (mut from_server, mut to_server) = outbound.into_split();
    let up_seen = seen.clone();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = from_browser.read(&mut buf).await {
            if n == 0 || to_server.write_all(&buf[..n]).await.is_err() {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]);
            let mut seen = up_seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.requests.extend(text.split("\r\n").filter_map(request_line));
        }
        let _ = to_server.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from_server.read(&mut buf).await {
            if n == 0 || to_browser.write_all(&buf[..n]).await.is_err() {
                break;
            }
            seen.lock().unwrap_or_else(|e| e.into_inner()).bytes_down += n as u64;
        }
        let _ = to_browser.shutdown().await;
    };
    tokio::join!(up, down);
}

/// `GET /path` from `GET /path HTTP/1.1`.
fn request_line(line: &str) -> Option<String> {
    let (method, rest) = line.split_once(' ')?;
    let target = rest.strip_suffix(" HTTP/1.1")?;
    ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"].contains(&method).then(|| format!("{method} {target}"))
}
