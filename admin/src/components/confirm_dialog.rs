use leptos::prelude::*;

/// A question before a destructive action: what will happen, to whom. Cancel, Escape or
/// closing changes nothing; the browser's modal dialog keeps focus inside while open.
#[derive(Clone)]
pub struct Ask {
    pub question: String,
    pub consequence: String,
    pub confirm_label: String,
    pub on_yes: Callback<()>,
}

/// The one dialog of the administration pages; components ask through it.
#[derive(Clone, Copy)]
pub struct Confirm(pub RwSignal<Option<Ask>>);

impl Confirm {
    pub fn ask(
        self,
        question: String,
        consequence: String,
        confirm_label: &str,
        on_yes: impl Fn() + Send + Sync + 'static,
    ) {
        let on_yes = Callback::new(move |()| on_yes());
        self.0.set(Some(Ask { question, consequence, confirm_label: confirm_label.to_string(), on_yes }));
    }
}

#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let Confirm(ask) = expect_context::<Confirm>();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let wanted = ask.with(|a| a.is_some());
        if let Some(d) = dialog.get() {
            if wanted && !d.open() {
                let _ = d.show_modal();
            } else if !wanted && d.open() {
                d.close();
            }
        }
    });
    let yes = move |_| {
        if let Some(a) = ask.get_untracked() {
            ask.set(None);
            a.on_yes.run(());
        }
    };
    view! {
        <dialog node_ref=dialog aria-labelledby="confirm-title" aria-describedby="confirm-text" data-testid="confirm"
            on:close=move |_| ask.set(None)>
            {move || ask.get().map(|a| view! {
                <h2 id="confirm-title">{a.question}</h2>
                <p id="confirm-text">{a.consequence}</p>
                <div class="inline">
                    <button type="button" class="secondary" data-testid="confirm-cancel" on:click=move |_| ask.set(None)>"Cancel"</button>
                    <button type="button" class="danger" data-testid="confirm-yes" on:click=yes>{a.confirm_label}</button>
                </div>
            })}
        </dialog>
    }
}
