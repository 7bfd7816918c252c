// Enum fields take the enum, not a string.
use wechatpay_models::SendProductCouponRequest;

fn main() {
    let _ = SendProductCouponRequest::new("openid", "wx1", "stock", "req-1", "MEMBER");
}
