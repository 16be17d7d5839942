//! Saved state: what survives a restart through `--state FILE`, and what
//! `GET /__emulator/snapshot` / `POST /__emulator/restore` carry.
//!
//! A snapshot holds the business model (pools and their numbers, bindings
//! with every field, calls kept for recordings, AXG groups, locks,
//! blacklists, track numbers, X-number ties and settings, fixed-line
//! fields, waybills, A-number reports, the id counters), the MNS queues'
//! messages and visibility timeouts, and the business clock as its
//! distance from real time (so time passes while the emulator is stopped,
//! as it does for the real service). It leaves out what belongs to one
//! run: temporary MNS tokens (a consumer's next poll gets
//! InvalidAccessKeyId and fetches a new one, as after an expiry), STS
//! keys, remembered nonces, armed faults, and the call, SMS and request
//! logs. Keys, account and QPS limits come from the options and the seed.
//!
//! The file names its format and version; another version is refused
//! with a message saying so. It is written whole to a temporary file in
//! the same directory, flushed to disk, then renamed over the old one, so
//! a crash mid-write leaves the previous file intact.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::clock::{format_beijing, format_utc_timestamp, real_now_ms};
use crate::dypls::{Binding, CallRecord, Model, Pool};
use crate::mns::QueueDump;
use crate::App;

/// The `format` every state file names.
pub const FORMAT: &str = "pls-emulator-state";
/// The layout version this build reads and writes.
pub const VERSION: u32 = 1;

/// A binding as saved: every field, including its expiry in ms.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedBinding {
    #[serde(flatten)]
    binding: Binding,
    expire_ms: i64,
}

/// The business model as saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedModel {
    pools: Vec<Pool>,
    bindings: Vec<SavedBinding>,
    calls: Vec<CallRecord>,
    next_subs_id: u64,
    next_number_serial: u64,
    extra: crate::actions::Extra,
}

/// A whole snapshot, as written to a state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    format: String,
    version: u32,
    /// The emulator build that wrote it.
    emulator: String,
    /// Real time of writing, UTC.
    saved_at: String,
    /// Business time of writing, Beijing (for people; the offset is used).
    business_time: String,
    /// Business time minus real time, ms.
    clock_offset_ms: i64,
    account: String,
    model: SavedModel,
    /// By message type.
    queues: BTreeMap<String, QueueDump>,
}

/// Just enough of a file to tell its format and version before reading
/// the rest, so another version is named as such and not as bad JSON.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u32>,
    emulator: Option<String>,
}

/// Why a snapshot could not be read.
#[derive(Debug)]
pub struct StateError(pub String);

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Model {
    fn save(&self) -> SavedModel {
        SavedModel {
            pools: self.pools.values().cloned().collect(),
            bindings: self
                .bindings
                .values()
                .map(|b| SavedBinding {
                    expire_ms: b.expire_ms,
                    binding: b.clone(),
                })
                .collect(),
            calls: self.calls.values().cloned().collect(),
            next_subs_id: self.next_subs_id,
            next_number_serial: self.next_number_serial,
            extra: self.extra.clone(),
        }
    }

    fn restore(saved: SavedModel) -> Result<Model, StateError> {
        let mut model = Model::new(&[]);
        for pool in saved.pools {
            model.pools.insert(pool.pool_key.clone(), pool);
        }
        for SavedBinding {
            mut binding,
            expire_ms,
        } in saved.bindings
        {
            let id = binding.subs_id.parse::<u64>().map_err(|_| {
                StateError(format!(
                    "binding SubsId {:?} is not a number",
                    binding.subs_id
                ))
            })?;
            binding.expire_ms = expire_ms;
            model.bindings.insert(id, binding);
        }
        for call in saved.calls {
            model.calls.insert(call.call_id.clone(), call);
        }
        model.next_subs_id = saved.next_subs_id;
        model.next_number_serial = saved.next_number_serial;
        model.extra = saved.extra;
        Ok(model)
    }
}

impl Snapshot {
    /// The app's state now.
    pub fn take(app: &App) -> Result<Snapshot, StateError> {
        let model = app
            .model
            .lock()
            .map_err(|_| StateError("the model lock is poisoned".into()))?
            .save();
        let now = real_now_ms();
        Ok(Snapshot {
            format: FORMAT.into(),
            version: VERSION,
            emulator: env!("CARGO_PKG_VERSION").into(),
            saved_at: format_utc_timestamp(now),
            business_time: format_beijing(app.clock.now_ms()),
            clock_offset_ms: app.clock.offset_ms(),
            account: app.account.clone(),
            model,
            queues: app.queues.dump(&app.account),
        })
    }

    /// Reads a snapshot, refusing another format or version by name.
    pub fn parse(text: &[u8]) -> Result<Snapshot, StateError> {
        let header: Header = serde_json::from_slice(text)
            .map_err(|e| StateError(format!("not a pls-emulator state (invalid JSON: {e})")))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(StateError(format!(
                "not a pls-emulator state (its \"format\" is {:?}, expected {FORMAT:?})",
                header.format.unwrap_or_default()
            )));
        }
        if header.version != Some(VERSION) {
            return Err(StateError(format!(
                "written in state format version {} by pls-emulator {}; this pls-emulator ({}) reads version {VERSION} only",
                header.version.map_or("(none)".to_string(), |v| v.to_string()),
                header.emulator.unwrap_or_else(|| "(unknown)".into()),
                env!("CARGO_PKG_VERSION"),
            )));
        }
        serde_json::from_slice(text)
            .map_err(|e| StateError(format!("a damaged pls-emulator state: {e}")))
    }

    /// Puts this snapshot in place of the app's state. Checked whole
    /// first, so a bad snapshot changes nothing.
    pub fn apply(self, app: &App) -> Result<(), StateError> {
        let model = Model::restore(self.model)?;
        let mut queues = Vec::with_capacity(self.queues.len());
        for (message_type, dump) in &self.queues {
            let queue = app.queues.of_type(&app.account, message_type).map_err(|known| {
                StateError(format!(
                    "it holds a queue of message type {message_type:?}, which this emulator does not have (it has {})",
                    known.join(", ")
                ))
            })?;
            queues.push((queue, dump));
        }
        let mut current = app
            .model
            .lock()
            .map_err(|_| StateError("the model lock is poisoned".into()))?;
        *current = model;
        drop(current);
        for (queue, dump) in queues {
            queue.load(dump);
        }
        app.clock.set_offset_ms(self.clock_offset_ms);
        Ok(())
    }

    /// The snapshot as pretty JSON.
    pub fn to_json(&self) -> Result<Vec<u8>, StateError> {
        serde_json::to_vec_pretty(self).map_err(|e| StateError(e.to_string()))
    }
}

/// Writes `bytes` to `path` so that `path` holds either its old content or
/// all of `bytes`, never a part: a temporary file in the same directory,
/// written, flushed to disk, then renamed over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        write(&mut file)?;
        file.sync_all()
    })()
    .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    sync_directory(&dir);
    Ok(())
}

/// Makes the rename itself durable where the platform allows it.
#[cfg(unix)]
fn sync_directory(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Windows has no directory handle to flush; the rename is as durable as
/// the file system makes it.
#[cfg(not(unix))]
fn sync_directory(_dir: &Path) {}

/// Loads `path` into the app when it exists; a missing file is a fresh
/// start, anything unreadable is refused (and left untouched).
pub fn load_file(app: &App, path: &Path) -> Result<bool, StateError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(StateError(format!("cannot read it: {e}"))),
    };
    Snapshot::parse(&text)?.apply(app)?;
    Ok(true)
}

/// Writes the app's state to `path`.
pub fn save_file(app: &App, path: &Path) -> Result<(), StateError> {
    let bytes = Snapshot::take(app)?.to_json()?;
    write_atomically(path, &bytes).map_err(|e| StateError(format!("cannot write it: {e}")))
}

/// Maps with tuple keys, saved as a list of `[key, value]` pairs (JSON
/// object keys must be strings).
pub mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// GET snapshot: the whole state, as a state file holds it.
pub async fn snapshot(State(app): State<Arc<App>>) -> Response {
    match Snapshot::take(&app).and_then(|s| s.to_json()) {
        Ok(bytes) => reply(StatusCode::OK, bytes),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": e.to_string() }).to_string().into_bytes(),
        ),
    }
}

/// POST restore: replaces the state with a snapshot; a bad one changes
/// nothing and is answered 400 with the reason.
pub async fn restore(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match Snapshot::parse(&body).and_then(|s| s.apply(&app)) {
        Ok(()) => reply(
            StatusCode::OK,
            json!({ "ok": true, "clock": format_beijing(app.clock.now_ms()) })
                .to_string()
                .into_bytes(),
        ),
        Err(e) => reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": format!("cannot restore: {e}") })
                .to_string()
                .into_bytes(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pls-emulator-state-{name}-{}-{}",
            std::process::id(),
            real_now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_whole_and_no_temporary() {
        let dir = temp_dir("atomic");
        let path = dir.join("state.json");
        write_atomically(&path, b"old and whole").unwrap();
        let crashed = write_atomically_with(&path, |f| {
            f.write_all(b"half of the new")?;
            Err(std::io::Error::other("simulated crash mid-write"))
        });
        assert!(crashed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old and whole");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn other_formats_and_versions_are_refused_by_name() {
        let other =
            Snapshot::parse(br#"{"format":"pls-emulator-state","version":2,"emulator":"9.9.9"}"#)
                .err()
                .unwrap()
                .to_string();
        assert!(
            other.contains("version 2")
                && other.contains("9.9.9")
                && other.contains("reads version 1"),
            "{other}"
        );
        let foreign = Snapshot::parse(br#"{"hello":1}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(foreign.contains("not a pls-emulator state"), "{foreign}");
        let garbage = Snapshot::parse(b"{\"format\":\"pls-emu")
            .err()
            .unwrap()
            .to_string();
        assert!(garbage.contains("invalid JSON"), "{garbage}");
    }

    #[test]
    fn tuple_keyed_maps_round_trip_as_pairs() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct M {
            #[serde(with = "pairs")]
            m: BTreeMap<(String, String), u8>,
        }
        let m = M {
            m: [(("a".to_string(), "b".to_string()), 1)].into(),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, r#"{"m":[[["a","b"],1]]}"#);
        assert_eq!(serde_json::from_str::<M>(&text).unwrap(), m);
    }
}
