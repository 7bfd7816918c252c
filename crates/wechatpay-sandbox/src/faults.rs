//! Fault injection for client testing, chosen per request by the
//! `X-Sandbox-Fault` header or for every request by `--fault`.
//!
//! Syntax: one or more of the items below, separated by `,` or `;`:
//!
//! - `error=CODE` — answer with that code from the endpoint's error table, at its documented status
//! - `status=500` — 500 SYSTEM_ERROR; `status=429` — 429 FREQUENCY_LIMITED (any 4xx/5xx works)
//! - `delay-ms=N` — wait N milliseconds (at most 60000) before answering
//! - `tamper-signature` — answer normally but with a signature that does not verify
//! - `drop-after-receive` — process and record the request, then close the connection
//!   without a reply; the first time only for a request number, so a retry with the
//!   same number gets the recorded result
//!
//! Every fault of a list applies (tamper-signature also to an error reply);
//! a list that cannot apply as written is refused: two error answers
//! (`error=` / `status=`), an item given twice, or `drop-after-receive` with
//! an error answer (nothing is recorded, so there is nothing to drop after).
use std::time::Duration;

/// The fault syntax, for `wechatpay sandbox --help`.
pub const FAULT_HELP: &str = "\
Faults (X-Sandbox-Fault request header, or --fault for every request; items separated by , or ;):
  error=CODE          answer that code from the endpoint's error table, at its documented status
  status=500          500 SYSTEM_ERROR (status=429: 429 FREQUENCY_LIMITED; any 4xx/5xx works)
  delay-ms=N          wait N ms (at most 60000) before answering
  tamper-signature    answer with a signature that does not verify
  drop-after-receive  process and record the request, then close the connection without a reply
                      (first time per request number: a retry with the same number gets the result)
Every fault of a list applies; two error answers, a repeated item, or drop-after-receive
with error=/status= is refused.

Files in --keys DIR (generated on first start, reused later):
  apiclient_key.pem   the merchant/brand private key clients sign with (apiclient_pub.pem: its public key)
  wxp_pub.pem         the sandbox's WeChat Pay public key clients verify replies with (wxp_key.pem: private)
  sandbox.json        mchid, brand_id, serial_no, public_key_id, apiv3_key
  profile.toml        the same as a `--profile` file for call/sign/verify

The first line on stdout is the base URL. GET /sandbox/stats returns request counters,
GET /sandbox/notifications the notification deliveries, and POST /sandbox/clock
{\"advance_seconds\": N} moves the business clock forward (GET /sandbox/clock reads it);
POST /sandbox/pre-sends/claim {\"token\": T} issues a pre-sent coupon as the user taking it.
GET /v3/certificates answers a merchant with the sandbox's platform certificate,
encrypted with apiv3_key (`wechatpay certificates` downloads it).";

/// The request header that selects faults.
pub const FAULT_HEADER: &str = "X-Sandbox-Fault";

/// The longest delay a fault may ask for.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this error code (from the endpoint's table).
    Error(String),
    /// Answer with this HTTP status (500 → SYSTEM_ERROR, 429 → FREQUENCY_LIMITED).
    Status(u16),
    /// Wait before answering.
    Delay(Duration),
    /// Corrupt the reply's signature.
    TamperSignature,
    /// Record the result, then close the connection without replying.
    DropAfterReceive,
}

/// A fault that replaces the result with an error reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFault<'a> {
    /// `error=CODE`.
    Code(&'a str),
    /// `status=N`.
    Status(u16),
}

/// Every fault chosen for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults(pub Vec<Fault>);

impl Faults {
    /// Parses the header or `--fault` syntax.
    pub fn parse(text: &str) -> Result<Faults, String> {
        let mut out = Vec::new();
        for item in text
            .split([',', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (item, None),
            };
            let fault = match (name, value) {
                ("error", Some(code)) if !code.is_empty() => Fault::Error(code.to_owned()),
                ("status", Some(status)) => match status.parse::<u16>() {
                    Ok(s) if (400..=599).contains(&s) => Fault::Status(s),
                    _ => return Err(format!("status={status}: expected a 4xx or 5xx status")),
                },
                ("delay-ms", Some(ms)) => match ms.parse::<u64>() {
                    Ok(ms) if Duration::from_millis(ms) <= MAX_DELAY => {
                        Fault::Delay(Duration::from_millis(ms))
                    }
                    _ => return Err(format!("delay-ms={ms}: expected 0 to 60000")),
                },
                ("tamper-signature", None) => Fault::TamperSignature,
                ("drop-after-receive", None) => Fault::DropAfterReceive,
                _ => {
                    return Err(format!(
                        "unknown fault {item:?} (expected error=CODE, status=N, delay-ms=N, tamper-signature or drop-after-receive)"
                    ))
                }
            };
            if let Some(clash) = out.iter().find(|f| clashes(f, &fault)) {
                return Err(format!(
                    "{item:?} cannot be combined with {} (each fault of a list must apply)",
                    describe(clash)
                ));
            }
            out.push(fault);
        }
        Ok(Faults(out))
    }

    /// Refuses an `error=CODE` that no operation's error table documents (for
    /// `--fault`, which applies to every operation; a request's header is
    /// checked against its own operation's table).
    pub fn check_documented(&self) -> Result<(), String> {
        for fault in &self.0 {
            if let Fault::Error(code) = fault {
                let known = wechatpay_endpoints::ALL
                    .iter()
                    .any(|info| info.errors.iter().any(|row| row.code == code));
                if !known {
                    return Err(format!(
                        "error={code}: no operation's error table has the code {code}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The delay to apply, if any.
    pub fn delay(&self) -> Option<Duration> {
        self.0.iter().find_map(|f| match f {
            Fault::Delay(d) => Some(*d),
            _ => None,
        })
    }

    /// Whether `fault` was chosen.
    pub fn has(&self, fault: &Fault) -> bool {
        self.0.contains(fault)
    }

    /// The first error-answer fault (`error=` or `status=`), if any.
    pub fn error(&self) -> Option<ErrorFault<'_>> {
        self.0.iter().find_map(|f| match f {
            Fault::Error(code) => Some(ErrorFault::Code(code)),
            Fault::Status(status) => Some(ErrorFault::Status(*status)),
            _ => None,
        })
    }
}

/// Whether two faults cannot both apply.
fn clashes(a: &Fault, b: &Fault) -> bool {
    let answer = |f: &Fault| matches!(f, Fault::Error(_) | Fault::Status(_));
    std::mem::discriminant(a) == std::mem::discriminant(b)
        || (answer(a) && answer(b))
        || (answer(a) && *b == Fault::DropAfterReceive)
        || (*a == Fault::DropAfterReceive && answer(b))
}

fn describe(fault: &Fault) -> String {
    match fault {
        Fault::Error(code) => format!("error={code}"),
        Fault::Status(s) => format!("status={s}"),
        Fault::Delay(d) => format!("delay-ms={}", d.as_millis()),
        Fault::TamperSignature => "tamper-signature".into(),
        Fault::DropAfterReceive => "drop-after-receive".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fault_and_rejects_the_rest() {
        assert_eq!(
            Faults::parse("error=STOCK_INSUFFICIENT; delay-ms=1500, tamper-signature").unwrap(),
            Faults(vec![
                Fault::Error("STOCK_INSUFFICIENT".into()),
                Fault::Delay(Duration::from_millis(1500)),
                Fault::TamperSignature,
            ])
        );
        assert_eq!(
            Faults::parse("drop-after-receive,status=429").unwrap_err(),
            "\"status=429\" cannot be combined with drop-after-receive (each fault of a list must apply)"
        );
        assert_eq!(Faults::parse(" ").unwrap(), Faults::default());
        for bad in [
            "status=200",
            "delay-ms=999999",
            "explode",
            "error=",
            "tamper-signature=1",
            // Combinations that cannot all apply.
            "error=A;status=500",
            "error=A,error=B",
            "delay-ms=1;delay-ms=2",
            "tamper-signature;tamper-signature",
            "error=SYSTEM_ERROR;drop-after-receive",
        ] {
            assert!(Faults::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_undocumented_code_is_refused_before_any_request() {
        assert!(Faults::parse("error=STOCK_INSUFFICIENT")
            .unwrap()
            .check_documented()
            .is_ok());
        let e = Faults::parse("error=NOPE")
            .unwrap()
            .check_documented()
            .unwrap_err();
        assert!(e.contains("NOPE"), "{e}");
    }
}
