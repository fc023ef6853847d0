//! The descriptors each backend's JSON and REST calls use: the top-level
//! `descriptor_sets` and the backend's own, read into one pool.

use grpcweb_transcode::{Descriptors, RestRoutes};

use super::{Config, ConfigError};

/// The descriptors of backend `index`: the files of `config.descriptor_sets`, then the
/// backend's. The error names the key and the file at fault.
pub fn backend_descriptors(config: &Config, index: usize) -> Result<Descriptors, ConfigError> {
    let backend = config.backends.get(index);
    let own = backend.map_or(&[][..], |b| &b.descriptor_sets[..]);
    let paths: Vec<_> = config.descriptor_sets.iter().chain(own).collect();
    Descriptors::load(&paths).map_err(|e| {
        let global = config.descriptor_sets.iter().position(|p| *p == e.path);
        let key = match (global, backend) {
            (Some(j), _) => format!("descriptor_sets[{j}]"),
            (None, Some(_)) => {
                let j = own.iter().position(|p| *p == e.path).unwrap_or_default();
                format!("backends[{index}].descriptor_sets[{j}]")
            }
            (None, None) => "descriptor_sets".to_owned(),
        };
        ConfigError::new(key, e.to_string())
    })
}

/// Every backend's descriptors (by index), and the REST bindings of their
/// `google.api.http` rules. The error names the key, and the file or method at fault.
///
/// These are the descriptors from files: a backend with `descriptors = "reflection"`
/// adds its own once the proxy runs, so a `transcoding.rules` entry may then name a
/// method that no file has (it takes effect when reflection brings the method).
pub fn transcoding(config: &Config) -> Result<(Vec<Descriptors>, RestRoutes), ConfigError> {
    let sets = (0..config.backends.len())
        .map(|i| backend_descriptors(config, i))
        .collect::<Result<Vec<_>, _>>()?;
    let reflection = config.backends.iter().any(|b| b.reflection.is_some());
    let routes = if reflection {
        RestRoutes::new_skipping_unknown(&sets, &config.transcoding.rules).map(|(r, _)| r)
    } else {
        RestRoutes::new(&sets, &config.transcoding.rules)
    };
    let routes = routes.map_err(|e| {
        let key = match e.rule {
            Some(i) => format!("transcoding.rules[{i}]"),
            None => "descriptor_sets".to_owned(),
        };
        ConfigError::new(key, e.reason)
    })?;
    Ok((sets, routes))
}
