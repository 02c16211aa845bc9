//! A round-robin HTTP proxy on 127.0.0.1 in front of replicas, as a load balancer would stand.
//!
//! Each request, not each connection, goes to the next replica in turn: clients keep their
//! connection to the proxy alive (reqwest does), so balancing connections would pin a browser
//! to one replica, and a session made on one would never be used on the other. Per request,
//! a sign-in and the very next request of the same browser land on different replicas.
//!
//! The `Host` and `Origin` a browser sends are passed on untouched (the replica compares them),
//! and every answer names the replica that gave it in `x-replica`. A request no replica
//! answered gets 502 from the proxy itself; past its budget of requests it answers 503: a test
//! tool that cannot turn into an open relay.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

/// The header naming the replica (its index) that answered.
pub const REPLICA_HEADER: &str = "x-replica";
/// Set on answers the proxy made itself (`unreachable`, `over-budget`).
pub const PROXY_HEADER: &str = "x-round-robin";

/// Requests larger than this are refused (the API takes small JSON bodies).
const MAX_BODY: usize = 1024 * 1024;

pub struct RoundRobin {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

struct Shared {
    replicas: Vec<SocketAddr>,
    next: AtomicUsize,
    /// Answers relayed, per replica.
    served: Vec<AtomicU64>,
    /// Requests a replica did not answer, per replica.
    unreachable: Vec<AtomicU64>,
    /// Requests still allowed.
    budget: AtomicU64,
    client: reqwest::Client,
}

impl RoundRobin {
    /// Listens on a fresh port of 127.0.0.1 and relays at most `budget` requests to `replicas`.
    pub async fn start(replicas: &[SocketAddr], budget: u64) -> RoundRobin {
        assert!(!replicas.is_empty(), "a proxy needs a replica");
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let client =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("the proxy's client");
        let shared = Arc::new(Shared {
            replicas: replicas.to_vec(),
            next: AtomicUsize::new(0),
            served: replicas.iter().map(|_| AtomicU64::new(0)).collect(),
            unreachable: replicas.iter().map(|_| AtomicU64::new(0)).collect(),
            budget: AtomicU64::new(budget),
            client,
        });
        let app = axum::Router::new().fallback(forward).with_state(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        RoundRobin { addr, shared, stop: Some(stop), task: Some(task) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers relayed from each replica, in the order the replicas were given.
    pub fn served(&self) -> Vec<u64> {
        self.shared.served.iter().map(|n| n.load(Ordering::SeqCst)).collect()
    }

    /// Requests each replica did not answer (the proxy answered 502 instead).
    pub fn unreachable(&self) -> Vec<u64> {
        self.shared.unreachable.iter().map(|n| n.load(Ordering::SeqCst)).collect()
    }

    /// Stops accepting and waits for the requests in flight.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Headers of one hop, never passed on (RFC 9110, 7.6.1).
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    headers.iter().filter(|(name, _)| !hop_by_hop(name)).map(|(n, v)| (n.clone(), v.clone())).collect()
}

fn proxy_answer(status: StatusCode, what: &'static str) -> Response {
    let mut response = Response::new(Body::from(what));
    *response.status_mut() = status;
    response.headers_mut().insert(PROXY_HEADER, HeaderValue::from_static(what));
    response
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let spent = shared.budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1));
    if spent.is_err() {
        return proxy_answer(StatusCode::SERVICE_UNAVAILABLE, "over-budget");
    }
    let turn = shared.next.fetch_add(1, Ordering::SeqCst) % shared.replicas.len();
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return proxy_answer(StatusCode::PAYLOAD_TOO_LARGE, "too-large");
    };
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let url = format!("http://{}{path}", shared.replicas[turn]);
    // `Host` stays the proxy's, as the browser sent it: hyper only adds one when it is missing.
    let sent = shared.client.request(parts.method, url).headers(end_to_end(&parts.headers)).body(body).send().await;
    let answer = match sent {
        Ok(answer) => answer,
        Err(_) => {
            shared.unreachable[turn].fetch_add(1, Ordering::SeqCst);
            return proxy_answer(StatusCode::BAD_GATEWAY, "unreachable");
        }
    };
    let status = answer.status();
    let mut headers = end_to_end(answer.headers());
    let Ok(body) = answer.bytes().await else {
        shared.unreachable[turn].fetch_add(1, Ordering::SeqCst);
        return proxy_answer(StatusCode::BAD_GATEWAY, "unreachable");
    };
    shared.served[turn].fetch_add(1, Ordering::SeqCst);
    headers.insert(REPLICA_HEADER, HeaderValue::from(turn));
    // The body is whole: its length is known again.
    headers.remove(axum::http::header::CONTENT_LENGTH);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
