use std::collections::VecDeque;

/// How the simulated user answers the key's "press the button" requests.
#[derive(Clone, Debug)]
pub enum Presence {
    AlwaysConfirm,
    NeverConfirm,
    /// One answer per request, in order; then refuses.
    Scripted(VecDeque<bool>),
}

impl Presence {
    pub fn answer(&mut self) -> bool {
        match self {
            Presence::AlwaysConfirm => true,
            Presence::NeverConfirm => false,
            Presence::Scripted(answers) => answers.pop_front().unwrap_or(false),
        }
    }
}
