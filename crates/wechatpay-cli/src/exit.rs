//! Failure classes and their exit codes: one code per class, listed in `--help`.

use std::fmt;

/// What kind of failure ended a command; each has its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    /// A bug or an unexpected local failure (exit 1).
    Internal,
    /// Bad command-line usage, as reported by the argument parser (exit 2).
    Usage,
    /// The request is invalid (unknown operation, unreadable or invalid body); nothing was sent (exit 3).
    Validation,
    /// Settings are missing or unusable: key files, PEM, mchid/brand_id, profile (exit 4).
    Config,
    /// The server answered with an error status (HTTP status, code, message, Request-ID) (exit 5).
    Api,
    /// A reply or notification whose signature, timestamp or serial does not check out (exit 6).
    Verification,
    /// No usable reply: connection refused or closed, timeout, TLS or protocol failure (exit 7).
    Network,
    /// A reply that verified but does not decode into the operation's response type (exit 8).
    Decode,
    /// The result could not be written: standard output closed or unwritable (exit 9).
    Output,
    /// `campaign send` finished and some rows failed permanently (exit 10).
    RowsFailed,
    /// `campaign send` stopped before every row was resolved (Ctrl-C, or
    /// outcomes still unknown): run the same command again to resume (exit 11).
    Incomplete,
    /// `notify`: the journal cannot be created, opened, read or written, or is not a
    /// notify journal (exit 12).
    Journal,
    /// `notify serve`: the address cannot be listened on (exit 13).
    Listen,
}

impl ExitClass {
    /// Every class, in exit-code order.
    pub const ALL: [ExitClass; 13] = [
        ExitClass::Internal,
        ExitClass::Usage,
        ExitClass::Validation,
        ExitClass::Config,
        ExitClass::Api,
        ExitClass::Verification,
        ExitClass::Network,
        ExitClass::Decode,
        ExitClass::Output,
        ExitClass::RowsFailed,
        ExitClass::Incomplete,
        ExitClass::Journal,
        ExitClass::Listen,
    ];

    /// The process exit code of this class.
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Internal => 1,
            ExitClass::Usage => 2,
            ExitClass::Validation => 3,
            ExitClass::Config => 4,
            ExitClass::Api => 5,
            ExitClass::Verification => 6,
            ExitClass::Network => 7,
            ExitClass::Decode => 8,
            ExitClass::Output => 9,
            ExitClass::RowsFailed => 10,
            ExitClass::Incomplete => 11,
            ExitClass::Journal => 12,
            ExitClass::Listen => 13,
        }
    }

    /// A short label printed before the message on stderr.
    pub fn label(self) -> &'static str {
        match self {
            ExitClass::Internal => "internal error",
            ExitClass::Usage => "usage error",
            ExitClass::Validation => "validation error",
            ExitClass::Config => "configuration error",
            ExitClass::Api => "API error",
            ExitClass::Verification => "verification error",
            ExitClass::Network => "network error",
            ExitClass::Decode => "decode error",
            ExitClass::Output => "output error",
            ExitClass::RowsFailed => "rows failed",
            ExitClass::Incomplete => "incomplete",
            ExitClass::Journal => "journal error",
            ExitClass::Listen => "listen error",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            ExitClass::Internal => "internal error",
            ExitClass::Usage => "bad command-line usage",
            ExitClass::Validation => {
                "validation error: unknown operation, unreadable or invalid body (nothing sent)"
            }
            ExitClass::Config => {
                "configuration error: missing/bad key file or PEM, missing mchid/brand_id, bad profile"
            }
            ExitClass::Api => {
                "API error: the server answered an error (status, code, message, Request-ID shown)"
            }
            ExitClass::Verification => {
                "verification error: reply/notification signature, timestamp or serial does not check out"
            }
            ExitClass::Network => "network error: no usable reply (refused, closed, timed out)",
            ExitClass::Decode => {
                "decode error: the reply verified but is not the operation's response type (not printed; call --raw prints it)"
            }
            ExitClass::Output => {
                "output error: the result could not be written to standard output (closed pipe)"
            }
            ExitClass::RowsFailed => {
                "campaign send: every row was resolved and some failed permanently (see campaign report)"
            }
            ExitClass::Incomplete => {
                "campaign send: stopped with rows still pending (Ctrl-C, or outcomes unknown); run it again to resume"
            }
            ExitClass::Journal => {
                "notify: the journal cannot be created, opened or written, or is not a notify journal (nothing acknowledged)"
            }
            ExitClass::Listen => "notify serve: cannot listen on the address (in use, or not allowed)",
        }
    }
}

/// The exit-code table shown at the end of `--help`.
pub fn exit_codes_help() -> String {
    let mut out = String::from("Exit codes:\n   0  success\n");
    for class in ExitClass::ALL {
        out.push_str(&format!("  {:>2}  {}\n", class.code(), class.meaning()));
    }
    out
}

/// A failure with its class and a message meant for a person (never holding secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub class: ExitClass,
    pub message: String,
}

impl CliError {
    /// A failure of `class` with `message`.
    pub fn new(class: ExitClass, message: impl Into<String>) -> Self {
        CliError {
            class,
            message: message.into(),
        }
    }

    /// A validation failure (exit 3).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Validation, message)
    }

    /// A configuration failure (exit 4).
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Config, message)
    }

    /// A verification failure (exit 6).
    pub fn verification(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Verification, message)
    }

    /// An unexpected local failure (exit 1).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Internal, message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.label(), self.message)
    }
}

impl std::error::Error for CliError {}

/// The whole chain of `error`, each cause once and nothing cut short (a
/// campaign's list of invalid rows is long on purpose).
pub use wechatpay_protocol::text::error_chain;

/// At most `max` characters of `text`, with `…` when cut (for values a user
/// or a server wrote, which may be arbitrarily long).
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_names_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot use the journal j.db")]
        struct Outer(#[source] std::io::Error);
        #[derive(Debug, thiserror::Error)]
        #[error("journal j.db: {0}")]
        struct Repeating(#[source] std::io::Error);
        let io = || std::io::Error::other("disk full");
        assert_eq!(
            error_chain(&Outer(io())),
            "cannot use the journal j.db: disk full"
        );
        assert_eq!(error_chain(&Repeating(io())), "journal j.db: disk full");
        assert_eq!(error_chain(&io()), "disk full");
    }

    #[test]
    fn codes_are_distinct_and_listed() {
        let help = exit_codes_help();
        let mut codes: Vec<u8> = ExitClass::ALL.iter().map(|c| c.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ExitClass::ALL.len());
        for class in ExitClass::ALL {
            assert!(help.contains(&format!("  {}  ", class.code())), "{help}");
        }
    }
}
