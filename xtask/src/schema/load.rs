//! Reads `api.yaml`, `endpoints/*.yaml`, `types/*.yaml`, `notifications.yaml`,
//! `sources.yaml` and `partner.yaml` from a schema directory, and expands the
//! partner twins `partner.yaml` declares.
//!
//! Parsing goes through `serde_path_to_error` so a wrong type or unknown key is
//! reported with its path inside the file, not only a line number.

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::error::SchemaError;
use super::raw::{ApiFile, EndpointFile, NotificationsFile, PartnerFile, SourcesFile, TypesFile};

/// One parsed file with the label used in error messages.
pub struct LoadedFile<T> {
    pub file: String,
    pub content: T,
}

pub type LoadedEndpoint = LoadedFile<EndpointFile>;

pub struct Loaded {
    pub api_file: String,
    pub api: ApiFile,
    pub endpoints: Vec<LoadedEndpoint>,
    /// `types/*.yaml`, if the directory exists.
    pub type_files: Vec<LoadedFile<TypesFile>>,
    /// `notifications.yaml`, if it exists.
    pub notifications: Option<LoadedFile<NotificationsFile>>,
    /// `sources.yaml` (the official pages of every operation), if it exists.
    pub sources: Option<LoadedFile<SourcesFile>>,
    /// `partner.yaml` (the service-provider family), if it exists.
    pub partner: Option<LoadedFile<PartnerFile>>,
    /// The endpoints `partner.yaml` declares as twins, expanded (after `endpoints`).
    pub twins: Vec<LoadedEndpoint>,
}

/// Loads every file; stops at the files that do not parse and reports them all.
pub fn load(dir: &Path) -> Result<Loaded, Vec<SchemaError>> {
    let mut errors = Vec::new();
    let api_path = dir.join("api.yaml");
    let api_file = label(dir, &api_path);
    let api = parse_file::<ApiFile>(&api_path, &api_file)
        .map_err(|e| errors.push(e))
        .ok();

    let mut endpoints = load_dir::<EndpointFile>(dir, "endpoints", true, &mut errors);
    let mut type_files = load_dir::<TypesFile>(dir, "types", false, &mut errors);
    let notifications = optional_file::<NotificationsFile>(dir, "notifications.yaml", &mut errors);
    let sources = optional_file::<SourcesFile>(dir, "sources.yaml", &mut errors);
    let partner = optional_file::<PartnerFile>(dir, "partner.yaml", &mut errors);
    let twins = match &partner {
        Some(p) if errors.is_empty() => super::twins::expand(p, &mut endpoints, &mut type_files)
            .unwrap_or_else(|e| {
                errors.extend(e);
                Vec::new()
            }),
        _ => Vec::new(),
    };
    match api {
        Some(api) if errors.is_empty() => Ok(Loaded {
            api_file,
            api,
            endpoints,
            type_files,
            notifications,
            sources,
            partner,
            twins,
        }),
        _ => Err(errors),
    }
}

/// `dir/name` parsed, or `None` when the file does not exist (or does not parse: reported).
fn optional_file<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
    errors: &mut Vec<SchemaError>,
) -> Option<LoadedFile<T>> {
    let path = dir.join(name);
    if !path.exists() {
        return None;
    }
    let file = label(dir, &path);
    parse_file::<T>(&path, &file)
        .map(|content| LoadedFile { file, content })
        .map_err(|e| errors.push(e))
        .ok()
}

/// Every `*.yaml` of `dir/name`, parsed; a missing directory is an error only if `required`.
fn load_dir<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
    required: bool,
    errors: &mut Vec<SchemaError>,
) -> Vec<LoadedFile<T>> {
    let sub = dir.join(name);
    if !required && !sub.exists() {
        return Vec::new();
    }
    let mut out = Vec::new();
    match yaml_paths(dir, &sub) {
        Ok(paths) => {
            for path in paths {
                let file = label(dir, &path);
                match parse_file::<T>(&path, &file) {
                    Ok(content) => out.push(LoadedFile { file, content }),
                    Err(e) => errors.push(e),
                }
            }
        }
        Err(e) => errors.push(e),
    }
    out
}

fn yaml_paths(dir: &Path, sub: &Path) -> Result<Vec<PathBuf>, SchemaError> {
    let unreadable = |e: std::io::Error| SchemaError {
        file: label(dir, sub),
        path: String::new(),
        reason: format!("cannot read the directory: {e}"),
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(sub).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            paths.push(path);
        }
    }
    // Sorted so that output and error order never depend on the file system.
    paths.sort();
    Ok(paths)
}

fn parse_file<T: DeserializeOwned>(path: &Path, file: &str) -> Result<T, SchemaError> {
    let text = fs::read_to_string(path).map_err(|e| SchemaError {
        file: file.to_owned(),
        path: String::new(),
        reason: format!("cannot read: {e}"),
    })?;
    parse_str(&text, file)
}

/// Parses one YAML document; errors carry the path inside the document.
pub fn parse_str<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, SchemaError> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let inner = e.into_inner();
        // serde_yaml's text repeats the path and the location; keep the reason once.
        let mut reason = inner.to_string();
        if let Some((prefix, rest)) = reason.split_once(": ") {
            if !prefix.is_empty() && path.starts_with(prefix) {
                reason = rest.to_owned();
            }
        }
        if let Some(l) = inner.location() {
            let suffix = format!(" at line {} column {}", l.line(), l.column());
            if let Some(stripped) = reason.strip_suffix(&suffix) {
                reason = stripped.to_owned();
            }
            reason.push_str(&format!(" (line {}, column {})", l.line(), l.column()));
        }
        SchemaError {
            file: file.to_owned(),
            path,
            reason,
        }
    })
}

/// `schema/endpoints/x.yaml`: the path from the schema directory's parent.
fn label(dir: &Path, path: &Path) -> String {
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match path.strip_prefix(dir) {
        Ok(rel) if !base.is_empty() => format!("{base}/{}", rel.display()),
        _ => path.display().to_string(),
    }
}
