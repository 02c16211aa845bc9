//! The administration's employee list with 10,000 employees: the sync that imports them, and
//! one page of the list (first, deep, searched), p50/p99, on SQLite and (when the test
//! PostgreSQL runs) on PostgreSQL. Measurements, never pass/fail.

use std::time::{Duration, Instant};

use latchkey_server::store::{EmployeeCursor, PageAt, Store, SyncedUser};

const EMPLOYEES: usize = 10_000;
const RUNS: usize = 200;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
    measure("sqlite", &sqlite).await;
    if std::env::var("LATCHKEY_TEST_PG_URL").is_ok() {
        measure("postgres", &latchkey_tests::app::fresh_postgres_database().await).await;
    }
}

async fn measure(backend: &str, url: &str) {
    let store = Store::open(url).await.expect("store");
    let names: Vec<(String, String, String)> = (0..EMPLOYEES)
        .map(|i| (format!("guid-{i:05}"), format!("user{i:05}"), format!("Employee Number {i}")))
        .collect();
    let users: Vec<SyncedUser> = names
        .iter()
        .map(|(guid, user, name)| SyncedUser {
            object_guid: guid,
            username: user,
            display_name: name,
            disabled: false,
            password_expires_at: None,
        })
        .collect();
    let started = Instant::now();
    let report = store.sync_employees(&users, 1).await.expect("sync");
    let first_sync = started.elapsed();
    let started = Instant::now();
    store.sync_employees(&users, 2).await.expect("sync");
    let resync = started.elapsed();
    println!(
        "employees {backend:<8} sync of {EMPLOYEES}: first {:.0} ms ({} added), again {:.0} ms",
        first_sync.as_secs_f64() * 1e3,
        report.added,
        resync.as_secs_f64() * 1e3
    );
    // The deep page starts after row 9,950, as a client reaches it: by following cursors.
    let mut deep = PageAt::First;
    let mut seen = 0;
    while seen < 9_950 {
        let page = store.employees("", Default::default(), &deep, 50).await.expect("list");
        seen += page.rows.len();
        deep = PageAt::After(EmployeeCursor::of(page.rows.last().expect("a row")));
    }
    let mut p50s = Vec::new();
    for (label, query, at) in
        [("first page", "", PageAt::First), ("page at 9,950", "", deep), ("search \"4321\"", "4321", PageAt::First)]
    {
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            let page = store.employees(query, Default::default(), &at, 50).await.expect("list");
            times.push(started.elapsed());
            assert!(!page.rows.is_empty() && page.total > 0);
        }
        times.sort();
        let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1e3;
        println!("employees {backend:<8} {label:<16} 50 rows: p50 {:.2} ms, p99 {:.2} ms", p(0.5), p(0.99));
        p50s.push(p(0.5));
    }
    println!("employees {backend:<8} deep page / first page (p50): {:.2}", p50s[1] / p50s[0]);
}
