//! What the build does after Trunk, as a library so the browser tests can make a second
//! deployment of a built app (see `pwa::finish`).

pub mod pwa;
