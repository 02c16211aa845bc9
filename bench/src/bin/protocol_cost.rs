//! Bytes over the air and round trips for the key protocol's flows, at the smallest and the
//! largest common ATT_MTU, in the batches the server sends (PROTOCOL.md §12: a flow's last write
//! carries the `ListAccounts` the page shows next). Prints one line per flow.

use keysim::link::Link;
use keysim::storage::MemoryFlash;
use keysim::SimKey;
use latchkey_protocol::crypto::KeyPair;
use latchkey_protocol::gatt;
use latchkey_protocol::message::{Account, Command, LoginType, Reply, Secret};
use latchkey_protocol::sealed;

fn main() {
    for mtu in [23u16, 247] {
        if let Err(e) = measure(mtu) {
            eprintln!("protocol cost at MTU {mtu} failed: {e}");
            std::process::exit(1);
        }
    }
}

struct Meter {
    bytes: usize,
    trips: usize,
}

fn start(link: &Link<MemoryFlash>) -> Meter {
    Meter { bytes: link.bytes_to_key + link.bytes_from_key, trips: link.round_trips }
}

fn report(mtu: u16, flow: &str, link: &Link<MemoryFlash>, m: Meter) {
    let bytes = link.bytes_to_key + link.bytes_from_key - m.bytes;
    let trips = link.round_trips - m.trips;
    println!("protocol-cost mtu={mtu:<3} {flow:<34} {bytes:>5} bytes {trips} round trip(s)");
}

fn measure(mtu: u16) -> Result<(), String> {
    let (key, made) =
        SimKey::manufacture("LK-BENCH-0001", [1; 32], MemoryFlash::default(), [2; 32]).map_err(|_| "manufacture")?;
    let server = KeyPair::from_seed([3; 32]);
    let mut link = Link::new(key, gatt::chunk_size(mtu));
    link.key.set_att_mtu(mtu);
    let ok = |r: Result<latchkey_protocol::message::Response, _>| -> Result<(), String> {
        let r = r.map_err(|e| format!("{e:?}"))?;
        match r.results.iter().find(|x| x.is_err()) {
            Some(e) => Err(format!("{e:?}")),
            None => Ok(()),
        }
    };

    let m = start(&link);
    link.connect(&server, [4; 32]).map_err(|e| format!("{e:?}"))?;
    report(mtu, "handshake", &link, m);
    ok(link.call(vec![Command::Activate { code: made.activation_code.clone() }]))?;

    let account = Account {
        id: 1,
        name: "Corporate logon".into(),
        login_type: LoginType::DomainAccount,
        domain: "EXAMPLE".into(),
        login: "jane.doe".into(),
        directory_managed: true,
    };
    // At connection: the listing, then the registry's account the key lacks.
    let m = start(&link);
    ok(link.call(vec![Command::ListAccounts]))?;
    report(mtu, "connection listing", &link, m);
    let m = start(&link);
    ok(link.call(vec![Command::PutAccount { account }, Command::ListAccounts]))?;
    report(mtu, "missing account (put+list)", &link, m);

    let m = start(&link);
    ok(link.call(vec![
        Command::SetPassword { id: 1, password: Secret::new("Current-Domain-Pass-2026") },
        Command::ListAccounts,
    ]))?;
    report(mtu, "onboarding (set+list)", &link, m);

    let m = start(&link);
    let first = link
        .call(vec![
            Command::ReadPassword { id: 1 },
            Command::Stage { id: 1, password: Secret::new("Next-Domain-Pass-2026!") },
        ])
        .map_err(|e| format!("{e:?}"))?;
    if !matches!(first.results.first(), Some(Ok(Reply::Passwords { .. }))) {
        return Err("read failed".into());
    }
    ok(link.call(vec![Command::Commit { id: 1 }, Command::ListAccounts]))?;
    report(mtu, "change (read+stage, commit+list)", &link, m);

    let sealed = sealed::seal(&made.public_key, &made.serial, 1, 1, &Secret::new("Admin-Reset-Pass-77"), [5; 32])
        .map_err(|e| format!("{e:?}"))?;
    let m = start(&link);
    ok(link.call(vec![Command::DeliverSealed { id: 1, counter: 1, sealed }, Command::ListAccounts]))?;
    report(mtu, "delivery (deliver+list)", &link, m);
    Ok(())
}
