//! The API hosts every doc page names (one place: the transport and the CLI read these).

/// The main API host (nearest access point).
pub const MAIN_HOST: &str = "https://api.mch.weixin.qq.com";

/// The backup API host (another city), for cross-city failover.
pub const BACKUP_HOST: &str = "https://api2.mch.weixin.qq.com";
