//! A TCP relay a test owns, in front of a shared service (the DC, PostgreSQL): it can cut the
//! service off for the one server behind it, freeze it (nothing passes, nothing closes), and
//! restore it. In front of PostgreSQL (no TLS in the test setup) it reads the client's messages
//! and can stop them right before a chosen statement, so a fault lands exactly at a step.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// Whether a client's statement is the one to stop at: its SQL and the bound parameters' bytes.
pub type Matcher = Box<dyn Fn(&str, &[u8]) -> bool + Send + Sync>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Open,
    Frozen,
    /// Open connections drop; new ones are closed at once.
    Cut,
}

/// What happens when the armed statement comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtStatement {
    /// Everything freezes right before it (then kill the server, or cut, or restore).
    Freeze,
    /// The database is cut off right before it.
    Cut,
}

struct Shared {
    /// Set with `send_replace`: `send` changes nothing while no connection waits on it.
    mode: watch::Sender<Mode>,
    /// Bumped at every cut: a connection made before it is dropped even if restored since.
    cuts: watch::Sender<u64>,
    armed: Mutex<Option<(Matcher, AtStatement)>>,
    /// Told when the armed statement came, or when a client wrote while frozen.
    reached: Notify,
    fired: std::sync::atomic::AtomicBool,
    blocked: std::sync::atomic::AtomicBool,
    /// While true, connections made from now on wait unanswered; those already open flow on.
    holding_new: watch::Sender<bool>,
    /// Bumped when held connections are dropped instead of let through.
    new_dropped: watch::Sender<u64>,
    new_held: std::sync::atomic::AtomicBool,
}

pub struct TcpRelay {
    /// `127.0.0.1:<port>`.
    pub addr: std::net::SocketAddr,
    shared: Arc<Shared>,
}

impl TcpRelay {
    /// Relays to `target` (`host:port`); `postgres` reads the client's messages.
    pub async fn start(target: &str, postgres: bool) -> TcpRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port for the relay");
        let addr = listener.local_addr().expect("its address");
        let (mode, _) = watch::channel(Mode::Open);
        let (cuts, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            mode,
            cuts,
            armed: Mutex::new(None),
            reached: Notify::new(),
            fired: Default::default(),
            blocked: Default::default(),
            holding_new: watch::channel(false).0,
            new_dropped: watch::channel(0).0,
            new_held: Default::default(),
        });
        let target = target.to_string();
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if *accepting.mode.borrow() == Mode::Cut {
                    continue;
                }
                let (target, shared) = (target.clone(), accepting.clone());
                tokio::spawn(async move {
                    if !wait_while_new_held(&shared).await {
                        return;
                    }
                    let Ok(outbound) = TcpStream::connect(&target).await else { return };
                    relay(inbound, outbound, shared, postgres).await;
                });
            }
        });
        TcpRelay { addr, shared }
    }

    /// The service is gone for this relay's clients.
    pub fn cut(&self) {
        self.shared.mode.send_replace(Mode::Cut);
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    /// Drops whatever is held (a frozen route's packets are lost, not delivered late) and
    /// lets new connections through.
    pub fn drop_held(&self) {
        self.cut();
        self.restore();
    }

    /// Nothing passes either way; nothing is closed. `client_blocked` then waits for a write
    /// made from now on.
    pub fn freeze(&self) {
        self.clear_blocked();
        self.shared.mode.send_replace(Mode::Frozen);
    }

    /// The service is back; frozen traffic flows on.
    pub fn restore(&self) {
        self.shared.mode.send_replace(Mode::Open);
    }

    /// Stops the first client message that `matcher` picks (and everything after it).
    pub fn arm(&self, matcher: Matcher, at: AtStatement) {
        self.shared.fired.store(false, std::sync::atomic::Ordering::SeqCst);
        *self.shared.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some((matcher, at));
    }

    /// Waits until the armed statement came (the relay froze or cut right before it).
    pub async fn statement_reached(&self) {
        self.until(&self.shared.fired).await
    }

    /// Waits until a client wrote while the relay was frozen: the server waits on the service.
    pub async fn client_blocked(&self) {
        self.until(&self.shared.blocked).await
    }

    /// Connections made from now on wait, unanswered, until `let_new_through` or `drop_new`;
    /// those already open (a shared service connection) go on.
    pub fn hold_new(&self) {
        self.shared.new_held.store(false, std::sync::atomic::Ordering::SeqCst);
        self.shared.holding_new.send_replace(true);
    }

    /// Waits until a connection made since `hold_new` is held.
    pub async fn new_held(&self) {
        self.until(&self.shared.new_held).await
    }

    /// Waits until `flag` is set (each setter notifies `reached`); asked before each wait, so
    /// a notice sent in between is not missed.
    async fn until(&self, flag: &std::sync::atomic::AtomicBool) {
        loop {
            let notified = self.shared.reached.notified();
            if flag.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    /// The held connections reach the service now, late.
    pub fn let_new_through(&self) {
        self.shared.holding_new.send_replace(false);
    }

    /// The held connections are closed without ever reaching the service.
    pub fn drop_new(&self) {
        self.shared.new_dropped.send_modify(|n| *n += 1);
        self.shared.holding_new.send_replace(false);
    }

    /// Forgets that a client was blocked (before the next freeze).
    pub fn clear_blocked(&self) {
        self.shared.blocked.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn relay(inbound: TcpStream, outbound: TcpStream, shared: Arc<Shared>, postgres: bool) {
    let (mut client_read, mut client_write) = inbound.into_split();
    let (mut server_read, mut server_write) = outbound.into_split();
    let mut cuts = shared.cuts.subscribe();
    let born = *cuts.borrow_and_update();
    let up = {
        let shared = shared.clone();
        async move {
            let mut reader = postgres.then(PgReader::default);
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match client_read.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if *shared.mode.borrow() == Mode::Frozen {
                    shared.blocked.store(true, std::sync::atomic::Ordering::SeqCst);
                    shared.reached.notify_waiters();
                }
                let chunks = match reader.as_mut() {
                    Some(reader) => reader.split(&buf[..n], &shared),
                    None => vec![(buf[..n].to_vec(), None)],
                };
                for (bytes, stop) in chunks {
                    if let Some(at) = stop {
                        if at == AtStatement::Cut {
                            shared.mode.send_replace(Mode::Cut);
                            shared.cuts.send_modify(|n| *n += 1);
                        } else {
                            shared.mode.send_replace(Mode::Frozen);
                        }
                        shared.fired.store(true, std::sync::atomic::Ordering::SeqCst);
                        shared.reached.notify_waiters();
                    }
                    if !gate(&shared, born).await || server_write.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let down = {
        let shared = shared.clone();
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match server_read.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if !gate(&shared, born).await || client_write.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = cuts.changed() => {}
    }
}

/// Holds a new connection while `hold_new` is on; false when it is to be dropped.
async fn wait_while_new_held(shared: &Shared) -> bool {
    let mut holding = shared.holding_new.subscribe();
    if !*holding.borrow_and_update() {
        return true;
    }
    let dropped = *shared.new_dropped.borrow();
    shared.new_held.store(true, std::sync::atomic::Ordering::SeqCst);
    shared.reached.notify_waiters();
    while *holding.borrow_and_update() {
        if holding.changed().await.is_err() {
            return false;
        }
    }
    *shared.new_dropped.borrow() == dropped
}

/// Waits while frozen; false once cut (since the connection was made at cut `born`).
async fn gate(shared: &Shared, born: u64) -> bool {
    let mut mode = shared.mode.subscribe();
    loop {
        if *shared.cuts.borrow() != born {
            return false;
        }
        match *mode.borrow_and_update() {
            Mode::Open => return true,
            Mode::Cut => return false,
            Mode::Frozen => {}
        }
        if mode.changed().await.is_err() {
            return false;
        }
    }
}

/// The client's side of the PostgreSQL wire protocol, message by message: the statements
/// prepared by name, so a later Bind tells which SQL it runs.
#[derive(Default)]
struct PgReader {
    pending: Vec<u8>,
    started: bool,
    statements: HashMap<Vec<u8>, String>,
}

impl PgReader {
    /// Cuts `bytes` into runs to forward; a run that starts with the armed statement carries
    /// what to do first.
    fn split(&mut self, bytes: &[u8], shared: &Shared) -> Vec<(Vec<u8>, Option<AtStatement>)> {
        self.pending.extend_from_slice(bytes);
        let mut runs: Vec<(Vec<u8>, Option<AtStatement>)> = vec![(Vec::new(), None)];
        loop {
            let (header, typed) = if self.started { (5, true) } else { (4, false) };
            if self.pending.len() < header {
                break;
            }
            let len_at = usize::from(typed);
            let len = u32::from_be_bytes(self.pending[len_at..len_at + 4].try_into().unwrap_or([0; 4])) as usize;
            let total = len + len_at;
            if self.pending.len() < total {
                break;
            }
            let message: Vec<u8> = self.pending.drain(..total).collect();
            let stop = if typed { self.look(&message, shared) } else { self.startup(&message) };
            match stop {
                Some(at) => runs.push((message, Some(at))),
                None => runs.last_mut().map(|r| r.0.extend_from_slice(&message)).unwrap_or(()),
            }
        }
        runs.retain(|(bytes, stop)| !bytes.is_empty() || stop.is_some());
        runs
    }

    /// SSLRequest and GSSENCRequest come before the startup message, which ends the untyped part.
    fn startup(&mut self, message: &[u8]) -> Option<AtStatement> {
        let code = message.get(4..8).map(|c| u32::from_be_bytes(c.try_into().unwrap_or([0; 4])));
        if !matches!(code, Some(80_877_103 | 80_877_104)) {
            self.started = true;
        }
        None
    }

    fn look(&mut self, message: &[u8], shared: &Shared) -> Option<AtStatement> {
        let body = &message[5..];
        let (sql, params): (String, &[u8]) = match message[0] {
            b'P' => {
                let (name, rest) = cstr(body);
                let (query, _) = cstr(rest);
                let query = String::from_utf8_lossy(query).into_owned();
                self.statements.insert(name.to_vec(), query);
                return None;
            }
            b'Q' => (String::from_utf8_lossy(cstr(body).0).into_owned(), &[]),
            b'B' => {
                let (_portal, rest) = cstr(body);
                let (name, params) = cstr(rest);
                (self.statements.get(name).cloned().unwrap_or_default(), params)
            }
            _ => return None,
        };
        let mut armed = shared.armed.lock().unwrap_or_else(|e| e.into_inner());
        if armed.as_ref().is_some_and(|(matcher, _)| matcher(&sql, params)) {
            return armed.take().map(|(_, at)| at);
        }
        None
    }
}

fn cstr(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|b| *b == 0) {
        Some(end) => (&bytes[..end], &bytes[end + 1..]),
        None => (bytes, &[]),
    }
}

/// Whether `haystack` holds `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
