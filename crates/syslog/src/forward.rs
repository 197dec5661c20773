//! The forwarder: one bounded queue and one sender task per target.
//!
//! [`Forwarder::send`] only filters and pushes onto queues, so the caller (the event log, on
//! whatever thread logs) never waits on a network. A full queue drops the new message and counts
//! it: what is queued stays in order, and the counter tells the operator how much was lost.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use rustls::ClientConfig;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use crate::filter::{Filter, LowerText};
use crate::sender::{self, Job};
use crate::{Message, Target};

/// Messages a target may have waiting; beyond this new ones are dropped.
pub const QUEUE_CAPACITY: usize = 10_000;

/// How one target is doing, for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetStats {
    pub target: Target,
    /// Messages handed to the transport (for TCP and TLS: written to the connection).
    pub sent: u64,
    /// Messages lost because the queue was full.
    pub dropped: u64,
    /// UDP messages whose datagram could not be sent, even after re-resolving the address.
    pub failed: u64,
    /// Messages waiting now.
    pub queued: usize,
    /// UDP: a socket is ready; TCP and TLS: a connection is up.
    pub connected: bool,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) connected: AtomicBool,
    last_error: Mutex<Option<(String, DateTime<Utc>)>>,
}

impl Counters {
    pub(crate) fn error(&self, what: impl Into<String>) {
        self.connected.store(false, Ordering::Relaxed);
        let mut last = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *last = Some((what.into(), Utc::now()));
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The client configurations TLS targets connect with: without and with revocation checking.
#[derive(Clone, Default)]
pub(crate) struct TlsConfigs {
    pub(crate) plain: Option<Arc<ClientConfig>>,
    pub(crate) crl: Option<Arc<ClientConfig>>,
}

struct Slot {
    target: Target,
    filter: Filter,
    tx: mpsc::Sender<Arc<Message>>,
    counters: Arc<Counters>,
    task: AbortHandle,
}

impl Slot {
    /// Whether `t` can take over this slot's queue and connection: only the filter differs.
    fn same_link(&self, t: &Target) -> bool {
        let s = &self.target;
        s.address == t.address
            && s.port == t.port
            && s.transport == t.transport
            && s.format == t.format
            && s.crl_check == t.crl_check
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    runtime: Handle,
    slots: RwLock<Vec<Slot>>,
    tls: watch::Sender<TlsConfigs>,
}

/// Sends log messages to the configured remote syslog servers. Cloning gives another handle
/// to the same forwarder; the sender tasks stop when the last handle is dropped.
#[derive(Clone)]
pub struct Forwarder {
    shared: Arc<Shared>,
}

impl Forwarder {
    /// A forwarder with no targets whose sender tasks run on the current tokio runtime (it
    /// panics outside one, as `tokio::spawn` does). `tls` is the client configuration TLS
    /// targets connect with: it decides which server certificates are trusted, and the name
    /// checked is the target's address. See [`crate::client_config`].
    pub fn start(tls: Option<Arc<ClientConfig>>) -> Forwarder {
        let (tls, _) = watch::channel(TlsConfigs {
            plain: tls,
            crl: None,
        });
        Forwarder {
            shared: Arc::new(Shared {
                runtime: Handle::current(),
                slots: RwLock::new(Vec::new()),
                tls,
            }),
        }
    }

    /// Replaces the TLS client configurations (after the trust store or the revocation lists
    /// change): `tls` for targets without `crl_check`, `tls_crl` for those with it. A target
    /// with `crl_check` and no `tls_crl` does not connect: revocation checking was asked for
    /// and cannot be done. TLS connections are re-made with the new configuration.
    pub fn set_tls(&self, tls: Option<Arc<ClientConfig>>, tls_crl: Option<Arc<ClientConfig>>) {
        self.shared.tls.send_replace(TlsConfigs {
            plain: tls,
            crl: tls_crl,
        });
    }

    /// Replaces the set of targets. A target whose address, port, transport, format and CRL
    /// setting are unchanged keeps its queue, counters and connection (its filter is updated);
    /// removed targets stop at once, dropping what they still had queued.
    pub fn set_targets(&self, targets: Vec<Target>) {
        let mut slots = write(&self.shared.slots);
        let mut old: Vec<Option<Slot>> =
            std::mem::take(&mut *slots).into_iter().map(Some).collect();
        let mut next = Vec::with_capacity(targets.len());
        for target in targets {
            let kept = old
                .iter_mut()
                .find(|s| s.as_ref().is_some_and(|s| s.same_link(&target)))
                .and_then(Option::take);
            next.push(match kept {
                Some(mut slot) => {
                    slot.filter = Filter::new(&target);
                    slot.target = target;
                    slot
                }
                None => self.spawn(target),
            });
        }
        *slots = next;
        // `old` goes out of scope here, aborting the tasks of removed targets.
    }

    fn spawn(&self, target: Target) -> Slot {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let counters = Arc::new(Counters::default());
        let job = Job {
            target: target.clone(),
            rx,
            counters: counters.clone(),
            tls: self.shared.tls.subscribe(),
        };
        let task = self.shared.runtime.spawn(sender::run(job)).abort_handle();
        Slot {
            filter: Filter::new(&target),
            target,
            tx,
            counters,
            task,
        }
    }

    /// Queues `m` for every target whose filter it passes. Never waits and never fails: when a
    /// target's queue is full the message is dropped for that target and counted.
    pub fn send(&self, m: Message) {
        self.queue(m, true);
    }

    /// Like [`Forwarder::send`], but every target takes the message whatever its severity
    /// filter (the keyword filter still applies): media statistics are published to all
    /// servers regardless of their `Loglevel`.
    pub fn send_regardless_of_severity(&self, m: Message) {
        self.queue(m, false);
    }

    fn queue(&self, m: Message, by_severity: bool) {
        let slots = read(&self.shared.slots);
        if slots.is_empty() {
            return;
        }
        let m = Arc::new(m);
        let mut lower = LowerText::default();
        for slot in slots.iter() {
            if slot.filter.passes(&m, by_severity, &mut lower)
                && slot.tx.try_send(m.clone()).is_err()
            {
                Counters::add(&slot.counters.dropped, 1);
            }
        }
    }

    /// One entry per target, in the order given to [`Forwarder::set_targets`].
    pub fn stats(&self) -> Vec<TargetStats> {
        read(&self.shared.slots)
            .iter()
            .map(|s| {
                let c = &s.counters;
                let last = c
                    .last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                TargetStats {
                    target: s.target.clone(),
                    sent: c.sent.load(Ordering::Relaxed),
                    dropped: c.dropped.load(Ordering::Relaxed),
                    failed: c.failed.load(Ordering::Relaxed),
                    queued: QUEUE_CAPACITY.saturating_sub(s.tx.capacity()),
                    connected: c.connected.load(Ordering::Relaxed),
                    last_error_at: last.as_ref().map(|(_, at)| *at),
                    last_error: last.map(|(e, _)| e),
                }
            })
            .collect()
    }
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("targets", &read(&self.shared.slots).len())
            .finish()
    }
}

// A panic elsewhere while a lock was held leaves the list itself intact; keep logging.
fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}
