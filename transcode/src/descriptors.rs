//! Descriptor pools read from `FileDescriptorSet` files, and their methods by gRPC path.

use prost_reflect::{DescriptorPool, MethodDescriptor};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A descriptor set file that could not be used.
#[derive(Debug)]
pub struct LoadError {
    /// The file at fault.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

/// The services and messages of some descriptor sets, with every method by its gRPC path
/// (`/package.Service/Method`). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Descriptors {
    pool: DescriptorPool,
    methods: Arc<HashMap<String, MethodDescriptor>>,
}

impl Descriptors {
    /// Reads the `FileDescriptorSet` files at `paths` into one pool. The sets must hold
    /// every file they import (`protoc --include_imports`); a file that is in several
    /// sets is read once (the first one wins).
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Self, LoadError> {
        let mut pool = DescriptorPool::new();
        for path in paths {
            let path = path.as_ref();
            let error = |reason: String| LoadError {
                path: path.to_owned(),
                reason,
            };
            let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read: {e}")))?;
            pool.decode_file_descriptor_set(bytes.as_slice())
                .map_err(|e| {
                    error(format!(
                        "not a usable FileDescriptorSet (write it with `protoc --include_imports --descriptor_set_out` or `buf build -o`): {e}"
                    ))
                })?;
        }
        Ok(Self::from_pool(pool))
    }

    /// The methods of `pool`'s services.
    pub fn from_pool(pool: DescriptorPool) -> Self {
        let methods = pool
            .services()
            .flat_map(|s| s.methods().collect::<Vec<_>>())
            .map(|m| (grpc_path(&m), m))
            .collect();
        Self {
            pool,
            methods: Arc::new(methods),
        }
    }

    /// The method whose gRPC path is `path` (`/package.Service/Method`).
    pub fn method(&self, path: &str) -> Option<&MethodDescriptor> {
        self.methods.get(path)
    }

    /// Every method, in no particular order.
    pub fn methods(&self) -> impl Iterator<Item = &MethodDescriptor> {
        self.methods.values()
    }

    /// The pool.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// Whether the pool has no service.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }
}

/// `/package.Service/Method`.
pub fn grpc_path(method: &MethodDescriptor) -> String {
    format!("/{}/{}", method.parent_service().full_name(), method.name())
}
