//! `-v`, `-vv` and `RUST_LOG`: what the client does, on standard error.
//!
//! A small `tracing` subscriber (the transport logs through `tracing`) and a
//! `log` logger (reqwest logs through `log`) behind one filter:
//! `RUST_LOG=debug`, `RUST_LOG=wechatpay_transport=trace,reqwest=debug`, or
//! `-v` (debug) / `-vv` (trace) for everything, whichever is more verbose.
//! Lines are written best-effort: a closed standard error never panics.
//!
//! The transport never logs the `Authorization` header or key material;
//! this view redacts an `Authorization` value or a `signature="…"` parameter
//! anyway, should a dependency ever print one.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A level per target prefix, plus a default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    default: Option<Level>,
    targets: Vec<(String, Option<Level>)>,
}

fn level(text: &str) -> Option<Option<Level>> {
    match text.trim().to_ascii_lowercase().as_str() {
        "off" => Some(None),
        "error" => Some(Some(Level::ERROR)),
        "warn" => Some(Some(Level::WARN)),
        "info" => Some(Some(Level::INFO)),
        "debug" => Some(Some(Level::DEBUG)),
        "trace" => Some(Some(Level::TRACE)),
        _ => None,
    }
}

impl Filter {
    /// The filter for `RUST_LOG` (unparsable items are ignored) and `-v` count.
    pub fn new(rust_log: Option<&str>, verbose: u8) -> Filter {
        let mut filter = Filter::default();
        for item in rust_log
            .unwrap_or("")
            .split(',')
            .filter(|i| !i.trim().is_empty())
        {
            match item.split_once('=') {
                Some((target, lvl)) => {
                    if let Some(lvl) = level(lvl) {
                        filter.targets.push((target.trim().replace('-', "_"), lvl));
                    }
                }
                None => {
                    if let Some(lvl) = level(item) {
                        filter.default = lvl;
                    }
                }
            }
        }
        let from_flag = match verbose {
            0 => None,
            1 => Some(Level::DEBUG),
            _ => Some(Level::TRACE),
        };
        // `-v` raises every level to at least its own.
        if let Some(flag) = from_flag {
            filter.default = Some(filter.default.map_or(flag, |d| d.max(flag)));
            for (_, lvl) in &mut filter.targets {
                *lvl = Some(lvl.map_or(flag, |l| l.max(flag)));
            }
        }
        filter
    }

    /// Whether anything at all is logged.
    pub fn is_off(&self) -> bool {
        self.default.is_none() && self.targets.iter().all(|(_, l)| l.is_none())
    }

    /// Whether an event of `level` from `target` is shown (the longest
    /// matching target prefix decides).
    pub fn enabled(&self, target: &str, level: Level) -> bool {
        let chosen = self
            .targets
            .iter()
            .filter(|(prefix, _)| target == prefix || target.starts_with(&format!("{prefix}::")))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.default, |(_, l)| *l);
        // tracing orders levels by verbosity: TRACE is the "largest".
        chosen.is_some_and(|max| level <= max)
    }

    fn most_verbose(&self) -> Option<Level> {
        self.targets
            .iter()
            .map(|(_, l)| *l)
            .chain([self.default])
            .flatten()
            .max()
    }
}

/// Installs the subscriber and logger for this process, unless the filter
/// is off (then nothing is installed and logging costs nothing).
pub fn install(verbose: u8) {
    let filter = Filter::new(std::env::var("RUST_LOG").ok().as_deref(), verbose);
    if filter.is_off() {
        return;
    }
    let max = match filter.most_verbose() {
        Some(Level::TRACE) => log::LevelFilter::Trace,
        Some(Level::DEBUG) => log::LevelFilter::Debug,
        Some(Level::INFO) => log::LevelFilter::Info,
        Some(Level::WARN) => log::LevelFilter::Warn,
        _ => log::LevelFilter::Error,
    };
    let logger: &'static LogBridge = Box::leak(Box::new(LogBridge(filter.clone())));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(max);
    }
    let _ = tracing::subscriber::set_global_default(Stderr {
        filter,
        next_span: AtomicU64::new(1),
    });
}

/// Writes one line to standard error, ignoring failures.
fn emit(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", redact(line));
}

/// `line` with an `Authorization` value and `signature="…"` parameters cut out.
pub fn redact(line: &str) -> String {
    let mut out = line.to_owned();
    for scheme in [
        "WECHATPAY2-SHA256-RSA2048 ",
        "WECHATPAY-BRAND-SHA256-RSA2048 ",
    ] {
        if let Some(at) = out.find(scheme) {
            out.truncate(at + scheme.len());
            out.push_str("<Authorization redacted>");
        }
    }
    let mut rest = out.as_str();
    let mut cleaned = String::with_capacity(out.len());
    while let Some(at) = rest.find("signature=\"") {
        let (head, tail) = rest.split_at(at + "signature=\"".len());
        cleaned.push_str(head);
        cleaned.push_str("<redacted>");
        rest = match tail.find('"') {
            Some(end) => &tail[end..],
            None => "",
        };
    }
    cleaned.push_str(rest);
    cleaned
}

struct Stderr {
    filter: Filter,
    next_span: AtomicU64,
}

struct Line(String);

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for Stderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata.target(), *metadata.level())
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(match self.filter.most_verbose() {
            Some(level) => level.into(),
            None => tracing::level_filters::LevelFilter::OFF,
        })
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut line = Line(format!("{:>5} {}:", meta.level(), meta.target()));
        event.record(&mut line);
        emit(&line.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

struct LogBridge(Filter);

fn tracing_level(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::ERROR,
        log::Level::Warn => Level::WARN,
        log::Level::Info => Level::INFO,
        log::Level::Debug => Level::DEBUG,
        log::Level::Trace => Level::TRACE,
    }
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.0
            .enabled(metadata.target(), tracing_level(metadata.level()))
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            emit(&format!(
                "{:>5} {}: {}",
                record.level(),
                record.target(),
                record.args()
            ));
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_and_verbosity_combine() {
        let f = Filter::new(None, 0);
        assert!(f.is_off());
        let f = Filter::new(Some("debug"), 0);
        assert!(f.enabled("reqwest::connect", Level::DEBUG));
        assert!(!f.enabled("reqwest::connect", Level::TRACE));
        let f = Filter::new(Some("warn,wechatpay-transport=trace,hyper=off"), 0);
        assert!(f.enabled("wechatpay_transport::client", Level::TRACE));
        assert!(!f.enabled("hyper::proto", Level::ERROR));
        assert!(!f.enabled("reqwest", Level::INFO));
        assert!(f.enabled("reqwest", Level::WARN));
        let f = Filter::new(Some("nonsense=loud"), 2);
        assert!(f.enabled("anything", Level::TRACE));
        let f = Filter::new(None, 1);
        assert!(f.enabled("wechatpay_transport::client", Level::DEBUG));
        assert!(!f.enabled("wechatpay_transport::client", Level::TRACE));
    }

    #[test]
    fn authorization_values_and_signatures_are_cut_out() {
        let line = r#"header authorization: WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",signature="SECRETSIG",timestamp="1",serial_no="S""#;
        let shown = redact(line);
        assert!(!shown.contains("SECRETSIG"), "{shown}");
        assert!(shown.ends_with("<Authorization redacted>"), "{shown}");
        assert_eq!(
            redact(r#"a signature="abc" b signature="def" c"#),
            r#"a signature="<redacted>" b signature="<redacted>" c"#
        );
        assert_eq!(redact("sending request"), "sending request");
    }
}
