//! The notify URL (set / get: one per brand, and one per service provider for
//! all its brands, keyed by the signer) and image uploads.

use rusqlite::params;
use wechatpay_endpoints::brand::{GetNotifyConfig, SetNotifyConfig, UploadImage};
use wechatpay_models::{
    GetNotifyConfigRequest, NotifyConfigResult, SetNotifyConfigRequest, UploadImageRequest,
    UploadImageResponse,
};

use super::{Ctx, Operation};
use crate::answers::{self, trouble};
use crate::clock::datetime;
use crate::notify;
use crate::replies::Rejection;
use crate::sql;

/// The file types upload-image takes (its page: JPG, BMP or PNG).
const IMAGE_TYPES: [&str; 4] = ["jpg", "jpeg", "bmp", "png"];

impl Operation for SetNotifyConfig {
    fn run(ctx: &mut Ctx<'_>, r: SetNotifyConfigRequest) -> Result<NotifyConfigResult, Rejection> {
        if let Some(problem) = notify::url::problem(&r.notify_url) {
            return Err(Rejection::param("notify_url", "body", problem));
        }
        sql::exec(ctx.db,
            "INSERT INTO notify_configs (identity, url, update_time) VALUES (?1, ?2, ?3) \
             ON CONFLICT (identity) DO UPDATE SET url = excluded.url, update_time = excluded.update_time",
            params![ctx.caller.signer, r.notify_url, ctx.now],
        )?;
        Ok(NotifyConfigResult::new(r.notify_url, datetime(ctx.now)))
    }
}

impl Operation for GetNotifyConfig {
    fn run(ctx: &mut Ctx<'_>, _: GetNotifyConfigRequest) -> Result<NotifyConfigResult, Rejection> {
        let (url, at) = notify::configured_url(ctx.db, &ctx.caller.signer)?.ok_or_else(|| {
            answers::not_found(
                ctx.info,
                "notify config of",
                &ctx.caller.signer,
                trouble::OBJECT_NOT_FOUND,
            )
        })?;
        Ok(NotifyConfigResult::new(url, datetime(at)))
    }
}

impl Operation for UploadImage {
    fn run(_: &mut Ctx<'_>, r: UploadImageRequest) -> Result<UploadImageResponse, Rejection> {
        let ext = r
            .filename
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase());
        if !ext.is_some_and(|e| IMAGE_TYPES.contains(&e.as_str())) {
            return Err(Rejection::param(
                "filename",
                "body",
                "must end in .jpg, .bmp or .png",
            ));
        }
        if r.sha256.len() != 64 || !r.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Rejection::param(
                "sha256",
                "body",
                "must be the 64 hex digits of the file's SHA-256",
            ));
        }
        Ok(UploadImageResponse::new(format!(
            "https://sandbox.invalid/wxpaylogo/{}",
            r.sha256.to_ascii_lowercase()
        )))
    }
}
