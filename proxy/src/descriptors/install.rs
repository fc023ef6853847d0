//! Installing what a fetch found: the fetched files made into the backend's descriptors,
//! the REST routes rebuilt and the snapshot swapped, when the files differ from those
//! installed last.
//!
//! A backend may send up to `max_bytes` (16 MiB) of files, thousands of them; making
//! them into a pool and routes takes seconds. That work runs on tokio's blocking threads
//! (`spawn_blocking`), so the async workers go on serving every other call meanwhile (a
//! proxy with one worker thread too). A build that fails or panics leaves the
//! descriptors as they were; the swap is its last step.

use grpcweb_transcode::{DescriptorPool, Descriptors, RestRoutes};
use std::sync::{Arc, PoisonError};

use super::fetch::{Fetched, RawFile, Version};
use super::{DescriptorState, FetchState, Reflected, Snapshot, files};

/// What the build of a fetch's files came to.
enum Built {
    /// The files are those installed last: nothing to do.
    Unchanged,
    /// Installed: the files and the number of methods of the backend's descriptors.
    Installed {
        files: Arc<Vec<RawFile>>,
        methods: usize,
    },
    /// Refused, and why: the descriptors are unchanged.
    Refused(String),
}

impl DescriptorState {
    /// Installs what a fetch found when it differs from what was installed last.
    /// Whether the descriptors are now the fetched ones.
    pub(super) async fn take(
        self: &Arc<Self>,
        index: usize,
        r: &Reflected,
        state: &mut FetchState,
        fetched: Fetched,
    ) -> bool {
        let backend = r.backend.as_str();
        for (service, message) in &fetched.missing_services {
            tracing::warn!(
                backend,
                service = service.as_str(),
                message = message.as_str(),
                "server reflection lists the service but serves no file for it"
            );
        }
        let version = fetched.version;
        tracing::debug!(
            backend,
            files = fetched.files.len(),
            "server reflection: making the descriptors"
        );
        let this = self.clone();
        let installed = state.installed.clone();
        let built = off_workers(move || this.build(index, installed.as_deref(), fetched)).await;
        match built {
            Ok(Built::Unchanged) => {
                tracing::debug!(backend, "server reflection: descriptors unchanged");
                true
            }
            Ok(Built::Installed { files, methods }) => {
                tracing::info!(
                    backend,
                    version = match version {
                        Version::V1 => "v1",
                        Version::V1alpha => "v1alpha",
                    },
                    files = files.len(),
                    methods,
                    "descriptors fetched by server reflection"
                );
                state.installed = Some(files);
                true
            }
            Ok(Built::Refused(error)) => {
                tracing::warn!(
                    backend,
                    error = error.as_str(),
                    "server reflection: descriptors refused; unchanged"
                );
                false
            }
            Err(error) => {
                tracing::error!(
                    backend,
                    error = error.as_str(),
                    "server reflection: making the descriptors failed; unchanged"
                );
                false
            }
        }
    }

    /// The files of `fetched` that can be used, installed unless they are `installed`.
    /// Runs on a blocking thread.
    fn build(&self, index: usize, installed: Option<&Vec<RawFile>>, fetched: Fetched) -> Built {
        let Some(Some(r)) = self.reflected.get(index) else {
            return Built::Refused("not a reflection backend".to_owned());
        };
        let files = match files::usable(&r.backend, &r.base, &fetched.services, fetched.files) {
            Ok(files) => files,
            Err(error) => return Built::Refused(error),
        };
        if installed == Some(&files) {
            return Built::Unchanged;
        }
        match self.install(index, &r.base, &files) {
            Ok(methods) => Built::Installed {
                files: Arc::new(files),
                methods,
            },
            Err(error) => Built::Refused(error),
        }
    }

    /// Makes backend `index`'s descriptors of its files and `fetched`, rebuilds the REST
    /// routes and swaps the snapshot. The number of methods, or what is wrong.
    fn install(
        &self,
        index: usize,
        base: &DescriptorPool,
        fetched: &[RawFile],
    ) -> Result<usize, String> {
        let mut pool = base.clone();
        pool.decode_file_descriptor_set(files::encode_set(fetched).as_slice())
            .map_err(|e| format!("the files do not make a descriptor pool: {e}"))?;
        let descriptors = Descriptors::from_pool(pool);
        let methods = descriptors.methods().count();
        let _swapping = self.swapping.lock().unwrap_or_else(PoisonError::into_inner);
        let mut sets = self.current.load().descriptors.clone();
        if let Some(slot) = sets.get_mut(index) {
            *slot = descriptors;
        }
        let (routes, _) = RestRoutes::new_skipping_unknown(&sets, &self.rules)
            .map_err(|e| format!("HTTP rules: {e}"))?;
        self.current.store(Arc::new(Snapshot {
            descriptors: sets,
            routes,
        }));
        Ok(methods)
    }
}

/// `work`'s result, run on a blocking thread within the caller's span; a panic in it
/// (or the runtime shutting down before it ran) is an error naming what happened.
async fn off_workers<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|e| match e.try_into_panic() {
            Ok(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                format!("panicked: {message}")
            }
            Err(e) => e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::off_workers;

    #[tokio::test]
    async fn work_runs_on_a_blocking_thread_and_a_panic_is_an_error() {
        let worker = std::thread::current().id();
        let ran_on = off_workers(|| std::thread::current().id()).await;
        assert_ne!(ran_on, Ok(worker));
        let panicked = off_workers(|| -> usize { panic!("boom") }).await;
        assert_eq!(panicked, Err("panicked: boom".to_owned()));
    }
}
