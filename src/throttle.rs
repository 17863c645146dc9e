//! Log-in throttling: handler (log-in, sign-up) → **throttle** → password check. It slows an
//! attacker without locking the account's owner out.
//!
//! Two counters, both per minute. Every password check counts against the client's address (one
//! address cannot keep the hashing gate busy, whatever usernames it tries). Failed log-ins count
//! against the (address, account) pair, the account named the way the lookup names it: five wrong
//! passwords from one address stop that address trying that account, and nobody else.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::{
    config::Config,
    error::{Error, Result},
};

const WINDOW: Duration = Duration::from_secs(60);
/// Failed log-ins per (address, account) per window.
pub const MAX_FAILURES: u32 = 5;
/// Entries kept before expired windows are swept out.
const SWEEP_AT: usize = 10_000;

#[derive(Clone, Copy)]
struct Window {
    count: u32,
    since: Instant,
}

impl Window {
    fn current(&mut self) -> &mut Self {
        if self.since.elapsed() >= WINDOW {
            *self = Window { count: 0, since: Instant::now() };
        }
        self
    }

    fn retry_after(&self) -> u64 {
        WINDOW.saturating_sub(self.since.elapsed()).as_secs().max(1)
    }
}

fn fresh() -> Window {
    Window { count: 0, since: Instant::now() }
}

/// The throttle's counters; one per app.
#[derive(Default)]
pub struct LoginThrottle(Mutex<Counters>);

#[derive(Default)]
struct Counters {
    attempts: HashMap<IpAddr, Window>,
    failures: HashMap<(IpAddr, String), Window>,
}

impl Counters {
    fn sweep(&mut self) {
        if self.attempts.len() > SWEEP_AT {
            self.attempts.retain(|_, w| w.since.elapsed() < WINDOW);
        }
        if self.failures.len() > SWEEP_AT {
            self.failures.retain(|_, w| w.since.elapsed() < WINDOW);
        }
    }
}

impl LoginThrottle {
    /// Counts one password check from `addr`, or refuses it when the address has had `per_minute`.
    pub fn attempt(&self, addr: ClientAddr, per_minute: u32) -> Result<()> {
        let mut c = self.0.lock().expect("throttle lock");
        c.sweep();
        let w = c.attempts.entry(addr.0).or_insert_with(fresh).current();
        if w.count >= per_minute {
            return Err(Error::Throttled {
                message: "Too many attempts from your address; try again in a minute",
                retry_after: w.retry_after(),
            });
        }
        w.count += 1;
        Ok(())
    }

    /// Refuses a log-in to `account` from `addr` after [`MAX_FAILURES`] failures in the window.
    pub fn check_account(&self, addr: ClientAddr, account: &str) -> Result<()> {
        let mut c = self.0.lock().expect("throttle lock");
        match c.failures.get_mut(&(addr.0, account.to_owned())).map(Window::current) {
            Some(w) if w.count >= MAX_FAILURES => Err(Error::Throttled {
                message: "Too many failed attempts; try again in a minute",
                retry_after: w.retry_after(),
            }),
            _ => Ok(()),
        }
    }

    /// Records a log-in's outcome: a success clears that pair's failures.
    pub fn record(&self, addr: ClientAddr, account: &str, ok: bool) {
        let mut c = self.0.lock().expect("throttle lock");
        let key = (addr.0, account.to_owned());
        if ok {
            c.failures.remove(&key);
        } else {
            c.failures.entry(key).or_insert_with(fresh).current().count += 1;
        }
    }
}

/// The client's address as the throttle counts it: the TCP peer, or the `CLIENT_IP_HEADER` a trusted
/// proxy set. IPv6 addresses count by their /64, which one client usually holds whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    fn bucket(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => Self(IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1)))),
            },
            v4 => Self(v4),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr
where
    std::sync::Arc<Config>: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = std::sync::Arc::<Config>::from_ref(state);
        // The proxy appends the address it saw, so the last entry is the one it vouches for.
        let forwarded = config.client_ip_header.as_deref().and_then(|h| {
            let v = parts.headers.get(h)?.to_str().ok()?;
            v.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
        });
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Self::bucket(forwarded.or(peer).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))))
    }
}
