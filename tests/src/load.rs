//! Concurrent browsers against one portal address (a replica, or a proxy in front of several):
//! sign-ins with a status read each, and password changes, all started at once; every answer
//! timed and judged. Shared by the replicas test and its benchmark.

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_api::{SessionView, CSRF_HEADER};
use serde_json::json;

use crate::round_robin::REPLICA_HEADER;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    SignIn,
    Status,
    Change,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::SignIn => "sign-in",
            Op::Status => "status read",
            Op::Change => "password change",
        }
    }
}

/// One answer: what was asked, what came back, from which replica (when a proxy said), and
/// how long it took. Status 0: no answer at all.
#[derive(Clone, Debug)]
pub struct Sample {
    pub op: Op,
    pub status: u16,
    pub code: Option<String>,
    pub replica: Option<usize>,
    pub elapsed: Duration,
}

/// What the directory itself may refuse of a change, by the API's error code: the domain's
/// rules, not a fault of the portal. Anything else that is not a success is an error.
pub const DIRECTORY_REFUSALS: &[&str] =
    &["too_young", "too_short", "not_complex", "in_history", "same_as_current", "rejected_by_directory"];

impl Sample {
    /// A 5xx, no answer, or a 4xx that is not the directory's refusal of a change.
    pub fn is_error(&self) -> bool {
        match self.status {
            200..=299 => false,
            400..=499 => {
                !(self.op == Op::Change && self.code.as_deref().is_some_and(|c| DIRECTORY_REFUSALS.contains(&c)))
            }
            _ => true,
        }
    }
}

/// One browser: its own cookie jar and connection, the portal's origin on every request, and
/// the session's CSRF token once signed in (what the SPA sends).
pub struct Browser {
    client: reqwest::Client,
    origin: String,
    csrf: Option<String>,
}

impl Browser {
    pub fn new(origin: &str) -> Browser {
        let client = reqwest::Client::builder().cookie_store(true).build().expect("client");
        Browser { client, origin: origin.trim_end_matches('/').to_string(), csrf: None }
    }

    async fn send(&self, op: Op, request: reqwest::RequestBuilder) -> (Sample, Option<String>) {
        let started = Instant::now();
        let answer = request.header("sec-fetch-site", "same-origin").send().await;
        let (status, replica, body) = match answer {
            Ok(answer) => {
                let replica =
                    answer.headers().get(REPLICA_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
                (answer.status().as_u16(), replica, answer.text().await.ok())
            }
            Err(_) => (0, None, None),
        };
        let elapsed = started.elapsed();
        let code = (!(200..300).contains(&status))
            .then(|| body.as_deref().and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok()))
            .flatten()
            .and_then(|v| v["code"].as_str().map(str::to_string));
        (Sample { op, status, code, replica, elapsed }, body)
    }

    fn post(&self, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        let request = self.client.post(format!("{}{path}", self.origin)).header("origin", &self.origin).json(&body);
        match &self.csrf {
            Some(token) => request.header(CSRF_HEADER, token),
            None => request,
        }
    }

    pub async fn sign_in(&mut self, username: &str, password: &str) -> Sample {
        let request = self.post("/api/session", json!({ "username": username, "password": password }));
        let (sample, body) = self.send(Op::SignIn, request).await;
        if sample.status == 200 {
            let view: Option<SessionView> = body.and_then(|b| serde_json::from_str(&b).ok());
            self.csrf = view.map(|v| v.csrf_token);
        }
        sample
    }

    pub async fn status(&self) -> Sample {
        self.send(Op::Status, self.client.get(format!("{}/api/password/status", self.origin))).await.0
    }

    pub async fn change(&self, current: &str, new: &str) -> Sample {
        self.send(Op::Change, self.post("/api/password/change", json!({ "current": current, "new": new }))).await.0
    }

    /// The same change without the CSRF token: what a forged request looks like.
    pub async fn change_without_token(&self, current: &str, new: &str) -> Sample {
        let request = self
            .client
            .post(format!("{}/api/password/change", self.origin))
            .header("origin", &self.origin)
            .json(&json!({ "current": current, "new": new }));
        self.send(Op::Change, request).await.0
    }
}

/// An account a browser signs in to.
#[derive(Clone, Debug)]
pub struct Account {
    pub username: String,
    pub password: String,
}

impl From<&crate::TestUser> for Account {
    fn from(user: &crate::TestUser) -> Self {
        Account { username: user.sam.clone(), password: user.password.clone() }
    }
}

/// A password no account of the run had, fit for the test domain's policy.
pub fn new_password(i: usize) -> String {
    format!("Fresh-Orbit-{}q!", 4000 + i)
}

/// What a run measured: the changers' sign-ins before the start (`prepared`), then everything
/// that ran at once (`samples`), and which browsers' sign-in and status read two different
/// replicas answered.
pub struct Run {
    pub prepared: Vec<Sample>,
    pub samples: Vec<Sample>,
    pub crossed: usize,
    pub wall: Duration,
}

/// Signs in one browser per changer first; then, all at once, a browser per `readers` entry
/// signs in and reads its status while each changer changes its password to
/// `new_password(offset + i)`. An account may appear several times among readers (several
/// sessions); changers must be distinct, and not readers.
pub async fn run(origin: &str, readers: &[Account], changers: &[Account], offset: usize) -> Run {
    let mut prepared = Vec::new();
    let mut signed_in = Vec::new();
    let sign_ins = changers.iter().map(|account| async move {
        let mut browser = Browser::new(origin);
        let sample = browser.sign_in(&account.username, &account.password).await;
        (browser, sample)
    });
    for (browser, sample) in futures::future::join_all(sign_ins).await {
        prepared.push(sample);
        signed_in.push(browser);
    }

    let together = Arc::new(tokio::sync::Barrier::new(readers.len() + signed_in.len()));
    let reads = readers.iter().map(|account| {
        let together = together.clone();
        async move {
            let mut browser = Browser::new(origin);
            together.wait().await;
            let sign_in = browser.sign_in(&account.username, &account.password).await;
            let mut samples = vec![sign_in.clone()];
            let mut crossed = false;
            if sign_in.status == 200 {
                let status = browser.status().await;
                crossed = sign_in.replica.is_some() && status.replica.is_some() && sign_in.replica != status.replica;
                samples.push(status);
            }
            (samples, crossed)
        }
    });
    let changes = signed_in.iter().zip(changers).enumerate().map(|(i, (browser, account))| {
        let together = together.clone();
        async move {
            together.wait().await;
            (vec![browser.change(&account.password, &new_password(offset + i)).await], false)
        }
    });
    let started = Instant::now();
    let (reads, changes) =
        futures::future::join(futures::future::join_all(reads), futures::future::join_all(changes)).await;
    let wall = started.elapsed();
    let mut samples = Vec::new();
    let mut crossed = 0;
    for (s, c) in reads.into_iter().chain(changes) {
        samples.extend(s);
        crossed += usize::from(c);
    }
    Run { prepared, samples, crossed, wall }
}

/// The `p`-th percentile (0..=100, nearest rank) of `op`'s latencies; `None` without samples.
pub fn percentile(samples: &[Sample], op: Op, p: f64) -> Option<Duration> {
    let mut times: Vec<Duration> = samples.iter().filter(|s| s.op == op).map(|s| s.elapsed).collect();
    if times.is_empty() {
        return None;
    }
    times.sort();
    let rank = ((p / 100.0) * times.len() as f64).ceil() as usize;
    Some(times[rank.clamp(1, times.len()) - 1])
}

/// Fails with every error sample (see [`Sample::is_error`]), grouped by what came back.
pub fn check_no_errors(samples: &[Sample]) -> Result<(), String> {
    let mut errors: std::collections::BTreeMap<String, usize> = Default::default();
    for s in samples.iter().filter(|s| s.is_error()) {
        *errors.entry(format!("{} {} {}", s.op.name(), s.status, s.code.as_deref().unwrap_or("-"))).or_default() += 1;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{} errors: {errors:?}", errors.values().sum::<usize>()))
    }
}

/// Fails unless every replica answered at least `min_share` of all answers.
pub fn check_shares(served: &[u64], min_share: f64) -> Result<(), String> {
    let total: u64 = served.iter().sum();
    if total == 0 {
        return Err("no replica answered anything".into());
    }
    match served.iter().position(|n| (*n as f64) < min_share * total as f64) {
        Some(i) => {
            Err(format!("replica {i} answered {} of {total} requests, under {min_share:.2}: {served:?}", served[i]))
        }
        None => Ok(()),
    }
}

/// `p50 / p99` of each operation, in milliseconds, one line each.
pub fn summary(samples: &[Sample]) -> String {
    let ms = |d: Option<Duration>| d.map(|d| format!("{:.0} ms", d.as_secs_f64() * 1000.0)).unwrap_or("-".into());
    [Op::SignIn, Op::Status, Op::Change]
        .iter()
        .map(|op| {
            let n = samples.iter().filter(|s| s.op == *op).count();
            format!(
                "{:>15}: n {n:>3}, p50 {:>7}, p99 {:>7}",
                op.name(),
                ms(percentile(samples, *op, 50.0)),
                ms(percentile(samples, *op, 99.0))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `n` fresh users of the test domain, made `at_once` at a time (one at a time is slow).
pub async fn create_users(dc: &crate::TestDc, n: usize, at_once: usize) -> Vec<crate::TestUser> {
    use futures::StreamExt;
    futures::stream::iter((0..n).map(|_| dc.create_user(crate::UserOptions::default())))
        .buffered(at_once.max(1))
        .collect()
        .await
}
