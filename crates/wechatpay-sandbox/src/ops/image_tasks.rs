//! Image-generation tasks (partner only): submit and query.
//!
//! The sandbox generates at once: a task is SUCCESS as soon as it is
//! submitted, so a query always finds its result, an image URL under
//! `https://wxpaylogo.qpic.cn/` made from the task. Its
//! `PRODUCT_COUPON_SP.IMAGE_GENERATION` (the task as the query shows it) goes
//! to the provider's notify URL [`NOTIFY_DELAY_MS`] after the submit, the
//! "short while" a real task takes. A task belongs to the provider and the
//! brand it was submitted for; `task_id` is unique within them.

use aws_lc_rs::digest::{digest, SHA256};
use rusqlite::OptionalExtension;
use wechatpay_endpoints::partner::{
    PartnerCreateImageGenerationTask, PartnerGetImageGenerationTask,
};
use wechatpay_models::{
    GeneratedImage, ImageGenerationTask, ImageGenerationTaskState, ImageGenerationTaskSubmitted,
    ImageGenerationType, PartnerCreateImageGenerationTaskRequest,
    PartnerGetImageGenerationTaskRequest,
};
use wechatpay_runtime::WireEnum;

use super::{Ctx, Operation};
use crate::answers::{self, trouble};
use crate::notify;
use crate::replies::Rejection;
use crate::sql;

/// How long after the submit the task's notification is due.
pub const NOTIFY_DELAY_MS: i64 = 200;

/// Where a `cut_out.image_url` may point: WeChat Pay's image store (the page),
/// or what the sandbox's upload-image answers.
const IMAGE_STORES: [&str; 2] = [
    "https://wxpaylogo.qpic.cn/",
    "https://sandbox.invalid/wxpaylogo/",
];

/// The provider and brand of a partner call (`Caller` always has both here).
fn tenant<'c>(ctx: &'c Ctx<'_>) -> Result<(&'c str, &'c str), Rejection> {
    match (&ctx.caller.provider, &ctx.caller.brand) {
        (Some(p), Some(b)) => Ok((p, b)),
        _ => Err(Rejection::internal(format!(
            "{} without a provider and a brand",
            ctx.info.operation_id
        ))),
    }
}

/// The generated image's URL: stable for one task.
fn image_url(provider: &str, brand: &str, task_id: &str) -> String {
    let d = digest(&SHA256, format!("{provider}/{brand}/{task_id}").as_bytes());
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("https://wxpaylogo.qpic.cn/wxpaylogo/sandbox/{hex}.png")
}

impl Operation for PartnerCreateImageGenerationTask {
    fn run(
        ctx: &mut Ctx<'_>,
        r: PartnerCreateImageGenerationTaskRequest,
    ) -> Result<ImageGenerationTaskSubmitted, Rejection> {
        let (provider, brand) = tenant(ctx)?;
        let (provider, brand) = (provider.to_owned(), brand.to_owned());
        if let Some(cut) = &r.cut_out {
            if !IMAGE_STORES.iter().any(|p| cut.image_url.starts_with(p)) {
                return Err(Rejection::param(
                    "cut_out.image_url",
                    "body",
                    "must be an image stored by WeChat Pay (https://wxpaylogo.qpic.cn/…, from upload-image)",
                ));
            }
        }
        let mut task = ImageGenerationTask::new(
            brand.as_str(),
            r.task_id.as_str(),
            r.image_generation_type.clone(),
            ImageGenerationTaskState::Success,
        );
        let result = Some(GeneratedImage::new(image_url(
            &provider, &brand, &r.task_id,
        )));
        match r.image_generation_type {
            ImageGenerationType::CutOut => task.cut_out_result = result,
            _ => task.combine_image_result = result,
        }
        let inserted = sql::exec(
            ctx.db,
            "INSERT OR IGNORE INTO image_tasks (provider, brand_id, task_id, body) \
             VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![provider, brand, r.task_id, serde_json::to_string(&task)?],
        )?;
        if inserted == 0 {
            return Err(answers::number_reused(ctx.info, "task_id", &r.task_id));
        }
        notify::enqueue_image(ctx, &provider, &task, NOTIFY_DELAY_MS)?;
        Ok(ImageGenerationTaskSubmitted::new(r.task_id, brand))
    }
}

impl Operation for PartnerGetImageGenerationTask {
    fn run(
        ctx: &mut Ctx<'_>,
        r: PartnerGetImageGenerationTaskRequest,
    ) -> Result<ImageGenerationTask, Rejection> {
        let (provider, brand) = tenant(ctx)?;
        let body: Option<String> = sql::row(
            ctx.db,
            "SELECT body FROM image_tasks WHERE provider = ?1 AND brand_id = ?2 AND task_id = ?3",
            [provider, brand, r.task_id.as_str()],
            |row| row.get(0),
        )
        .optional()?;
        let task: ImageGenerationTask = match body {
            Some(b) => serde_json::from_str(&b)?,
            None => {
                return Err(answers::not_found(
                    ctx.info,
                    "image generation task",
                    &r.task_id,
                    trouble::OBJECT_NOT_FOUND,
                ))
            }
        };
        if task.image_generation_type != r.image_generation_type {
            return Err(Rejection::param(
                "image_generation_type",
                "query",
                format!(
                    "task {} was submitted as {}; send the type it was submitted with",
                    r.task_id,
                    task.image_generation_type.as_wire()
                ),
            ));
        }
        Ok(task)
    }
}
