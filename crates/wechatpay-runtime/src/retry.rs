//! Which answers may succeed when the same request (same request number) is sent again.
//! The transport's retries, the typed error codes and the campaign runner all ask here.

/// Error codes WeChat Pay documents as "try again later with the same request".
pub fn retryable_code(code: &str) -> bool {
    matches!(code, "SYSTEM_ERROR" | "FREQUENCY_LIMITED")
}

/// Whether an error reply may succeed on a resend: 5xx, 429, or a retryable code.
pub fn retryable(status: u16, code: &str) -> bool {
    status >= 500 || status == 429 || retryable_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_rate_limits_and_documented_codes_are_retryable() {
        assert!(retryable(500, "ANYTHING"));
        assert!(retryable(503, ""));
        assert!(retryable(429, "FREQUENCY_LIMITED"));
        assert!(retryable(400, "SYSTEM_ERROR"));
        assert!(!retryable(400, "PARAM_ERROR"));
        assert!(!retryable(404, "RESOURCE_NOT_EXISTS"));
    }
}
