// Forgetting a required field does not compile: required fields are constructor arguments.
use wechatpay_models::{CouponType, SendProductCouponRequest};

fn main() {
    let _ = SendProductCouponRequest::new("openid", "wx1", "stock", CouponType::Normal);
}
