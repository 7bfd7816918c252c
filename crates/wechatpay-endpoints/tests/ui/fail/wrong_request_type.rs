// An operation's path is built from its own request type only.
use wechatpay_endpoints::brand::PreSendUserProductCouponBundle;
use wechatpay_endpoints::Endpoint;
use wechatpay_models::{CouponType, SendProductCouponRequest};

fn main() {
    let request = SendProductCouponRequest::new("openid", "wx1", "stock", "req-1", CouponType::Normal);
    let _ = PreSendUserProductCouponBundle::path(&request);
}
