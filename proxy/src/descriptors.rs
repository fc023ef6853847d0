//! The descriptors of JSON and REST calls while the proxy runs: each backend's, and the
//! REST routes made of them, as one snapshot that is swapped whole (arc-swap) when a
//! backend with `descriptors = "reflection"` brings new ones. Calls read the snapshot
//! of the moment; a swap never shows a call half of one and half of another.
//!
//! A reflection backend's descriptors are its descriptor files, the well-known types and
//! what its gRPC server reflection serves (a file of the same name: the descriptor file
//! wins). They are
//! fetched at start in the background (retried 1 s, 2 s, ... up to every 30 s until one
//! fetch succeeds: start never waits for the backend), and again when a call names a
//! method they lack: at most once per `refetch_interval`, one fetch at a time per
//! backend, the calls that missed meanwhile waiting for it. A failed fetch keeps the
//! descriptors as they were. What a fetch brings is made into descriptors and REST
//! routes off the async workers ([`install`]).

mod fetch;
mod files;
mod install;
mod public;

use arc_swap::ArcSwap;
use grpcweb_transcode::{DescriptorPool, Descriptors, RestRoutes, RuleSpec};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

use crate::config::{Config, ConfigError, ReflectionConfig, transcoding};
use crate::upstream::Upstream;
use fetch::{FetchError, RawFile, ReflectionClient};

/// First wait between start fetches that failed; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between start fetches that failed.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Every backend's descriptors (by index) and the REST routes of them all.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) descriptors: Vec<Descriptors>,
    pub(crate) routes: RestRoutes,
}

/// The current [`Snapshot`], and how reflection backends renew it.
#[derive(Debug)]
pub(crate) struct DescriptorState {
    current: ArcSwap<Snapshot>,
    /// Each backend's descriptors from files.
    files: Vec<Descriptors>,
    rules: Vec<RuleSpec>,
    /// Per backend: `Some` for a reflection backend.
    reflected: Vec<Option<Reflected>>,
    /// Held while a new snapshot is made, so two backends' swaps keep each other's.
    swapping: Mutex<()>,
}

struct Reflected {
    backend: String,
    /// What fetched files are added to: the backend's descriptor files and the
    /// well-known types.
    base: DescriptorPool,
    client: ReflectionClient,
    config: ReflectionConfig,
    /// Fetches ended so far (a call that waited for a fetch does not start another).
    ended: AtomicU64,
    fetch: tokio::sync::Mutex<FetchState>,
}

impl std::fmt::Debug for Reflected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reflected")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    /// The files of the last fetch that was installed.
    installed: Option<Arc<Vec<RawFile>>>,
}

impl DescriptorState {
    /// The descriptors of `config`'s files, and a reflection client for each backend with
    /// `descriptors = "reflection"` (no fetch yet: see [`DescriptorState::spawn_fetches`]).
    pub(crate) fn new(config: &Config) -> Result<Arc<Self>, ConfigError> {
        let (files, routes) = transcoding(config)?;
        let reflected = config
            .backends
            .iter()
            .zip(&files)
            .map(|(b, files)| {
                let Some(r) = &b.reflection else {
                    return Ok(None);
                };
                let mut base = files.pool().clone();
                // Files of the same name already there are kept.
                if let Err(e) = base.add_file_descriptor_protos(
                    DescriptorPool::global().file_descriptor_protos().cloned(),
                ) {
                    tracing::warn!(backend = b.name.as_str(), error = %e, "the well-known types do not fit the descriptor files");
                    base = files.pool().clone();
                }
                Ok(Some(Reflected {
                    backend: b.name.clone(),
                    base,
                    client: Upstream::new(b, &config.forwarding)?,
                    config: r.clone(),
                    ended: AtomicU64::new(0),
                    fetch: tokio::sync::Mutex::new(FetchState::default()),
                }))
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        Ok(Arc::new(Self {
            current: ArcSwap::from_pointee(Snapshot {
                descriptors: files.clone(),
                routes,
            }),
            files,
            rules: config.transcoding.rules.clone(),
            reflected,
            swapping: Mutex::new(()),
        }))
    }

    /// The snapshot of the moment, to read without waiting on anything meanwhile.
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.current.load()
    }

    /// The snapshot of the moment, to keep.
    pub(crate) fn load_full(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Whether backend `index` takes descriptors from reflection.
    pub(crate) fn is_reflected(&self, index: usize) -> bool {
        matches!(self.reflected.get(index), Some(Some(_)))
    }

    /// Whether any backend takes descriptors from reflection.
    pub(crate) fn any_reflected(&self) -> bool {
        self.reflected.iter().any(Option::is_some)
    }

    /// Whether any backend has or may get descriptors.
    pub(crate) fn any_descriptors(&self) -> bool {
        self.any_reflected() || self.files.iter().any(|d| !d.is_empty())
    }

    /// Starts the first fetch of every reflection backend, retried until one succeeds.
    pub(crate) fn spawn_fetches(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        (0..self.reflected.len())
            .filter(|&i| self.is_reflected(i))
            .map(|i| tokio::spawn(self.clone().first_fetch(i)))
            .collect()
    }

    async fn first_fetch(self: Arc<Self>, index: usize) {
        let Some(Some(r)) = self.reflected.get(index) else {
            return;
        };
        let mut wait = FIRST_RETRY;
        loop {
            {
                let mut state = r.fetch.lock().await;
                if state.installed.is_some() || self.fetch_locked(index, r, &mut state).await {
                    return;
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_RETRY);
        }
    }

    /// After a call to backend `index` named a method its descriptors lack: fetches them
    /// again unless one was tried within `refetch_interval`; a call that finds a fetch
    /// under way waits for it instead. Returns when the snapshot is as good as it gets.
    /// The fetch runs in a task of its own: a caller that goes away (its client
    /// disconnected) does not cancel it for the calls waiting on it.
    pub(crate) async fn refetch(self: &Arc<Self>, index: usize) {
        let this = self.clone();
        // A panic in the fetch is the task's; the caller answers with what is installed.
        let _ = tokio::spawn(async move { this.refetch_in_task(index).await }).await;
    }

    async fn refetch_in_task(self: &Arc<Self>, index: usize) {
        let Some(Some(r)) = self.reflected.get(index) else {
            return;
        };
        let seen = r.ended.load(Ordering::Acquire);
        let mut state = r.fetch.lock().await;
        if r.ended.load(Ordering::Acquire) != seen {
            return;
        }
        if state
            .last_attempt
            .is_some_and(|t| t.elapsed() < r.config.refetch_interval)
        {
            return;
        }
        self.fetch_locked(index, r, &mut state).await;
    }

    /// [`DescriptorState::refetch`] for every reflection backend at once (a REST request
    /// that no binding takes names no backend).
    pub(crate) async fn refetch_all(self: &Arc<Self>) {
        let all = (0..self.reflected.len())
            .filter(|&i| self.is_reflected(i))
            .map(|i| self.refetch(i));
        futures_util::future::join_all(all).await;
    }

    /// One fetch, within the timeout, installed when it differs from the last one.
    /// Whether it succeeded.
    async fn fetch_locked(
        self: &Arc<Self>,
        index: usize,
        r: &Reflected,
        state: &mut FetchState,
    ) -> bool {
        state.last_attempt = Some(Instant::now());
        let fetched = tokio::time::timeout(
            r.config.timeout,
            fetch::fetch(&r.client, r.config.max_bytes),
        )
        .await;
        let backend = r.backend.as_str();
        let ok = match fetched {
            Err(_elapsed) => {
                tracing::warn!(
                    backend,
                    timeout = ?r.config.timeout,
                    "server reflection did not answer in time; descriptors unchanged"
                );
                false
            }
            Ok(Err(e)) => {
                log_failure(backend, &e);
                false
            }
            Ok(Ok(fetched)) => self.take(index, r, state, fetched).await,
        };
        r.ended.fetch_add(1, Ordering::Release);
        ok
    }
}

fn log_failure(backend: &str, e: &FetchError) {
    tracing::warn!(
        backend,
        error = %e,
        "server reflection failed; descriptors unchanged"
    );
}
