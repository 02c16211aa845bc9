//! The reference key meets every requirement of the kit (and the kit can tell a failure: a
//! key command that is not a key fails them).

use latchkey_conformance::{run, table, KeyCommands};

fn keysim() -> String {
    // The workspace's keysim binary, built beside this test.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("keysim").display().to_string()
}

#[test]
fn the_reference_key_passes_every_requirement() {
    let keysim = keysim();
    assert!(std::path::Path::new(&keysim).exists(), "build keysim first: {keysim}");
    let commands = KeyCommands {
        make: format!("{keysim} -f \"$LATCHKEY_KEY_DIR/key\" create --serial LK-CONFORM-1"),
        run: format!("{keysim} -f \"$LATCHKEY_KEY_DIR/key\" run"),
    };
    let outcomes = run(&commands);
    println!("{}", table(&outcomes));
    assert!(outcomes.len() >= 19);
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{}", table(&outcomes));
}

#[test]
fn a_key_that_forgets_everything_at_power_loss_fails_the_kit() {
    let keysim = keysim();
    // Each power-on starts from a copy of the factory image: nothing persists.
    let commands = KeyCommands {
        make: format!(
            "{keysim} -f \"$LATCHKEY_KEY_DIR/key\" create --serial LK-CONFORM-2 && \
             cp \"$LATCHKEY_KEY_DIR/key\" \"$LATCHKEY_KEY_DIR/factory\""
        ),
        run: format!(
            "cp \"$LATCHKEY_KEY_DIR/factory\" \"$LATCHKEY_KEY_DIR/key\" && {keysim} -f \"$LATCHKEY_KEY_DIR/key\" run"
        ),
    };
    let outcomes = run(&commands);
    let failed: Vec<&str> = outcomes.iter().filter(|o| o.result.is_err()).map(|o| o.id).collect();
    assert!(failed.contains(&"K-STORE-1/2"), "{}", table(&outcomes));
    assert!(outcomes.iter().any(|o| o.result.is_ok()), "the rest still passes: {}", table(&outcomes));
}
