//! A TCP proxy that takes a dependency away and gives it back (PostgreSQL, Redis, S3, SMTP),
//! without touching the real server that other tests share: while an outage lasts, every
//! open connection through it is cut and new ones are closed at once, as a server that went
//! down or restarted looks to its clients.
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex,
};

use tokio::{net::TcpListener, task::AbortHandle};

#[derive(Default)]
struct State {
    down: AtomicBool,
    open: Mutex<Vec<AbortHandle>>,
}

pub struct Outage {
    pub port: u16,
    state: Arc<State>,
}

impl Outage {
    /// A proxy on a free local port in front of `target` (`host:port`).
    pub async fn in_front_of(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let (st, target) = (state.clone(), target.to_string());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if st.down.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut open = st.open.lock().unwrap();
                open.retain(|t| !t.is_finished());
                open.push(task.abort_handle());
            }
        });
        Self { port, state }
    }

    /// The dependency goes away: connections are cut, new ones closed.
    pub fn begin(&self) {
        self.state.down.store(true, Ordering::SeqCst);
        for t in self.state.open.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// The dependency is back.
    pub fn end(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }
}
